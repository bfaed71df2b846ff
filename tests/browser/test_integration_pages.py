"""In the browser: set up a GitHub webhook integration, copy its URL, and read why deliveries
did or did not start the template."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from semaphore.services import keys
from semaphore.services.permissions import ProjectAccess
from tests import factories

pytestmark = pytest.mark.browser
SECRET = "gh-webhook-secret"


def log_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("field-auth").fill(username)
    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()


def send(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_owner_sets_up_a_github_webhook_and_reads_its_deliveries(
    app, live_server, page, screenshot
):
    owner = factories.user(username="olive", name="Olive Owner")
    project = factories.project(name="Apollo", members={owner: "owner"})
    factories.template(project=project, name="Deploy site")
    keys.create_key(
        ProjectAccess(project, None, ""),
        {"name": "github-secret", "type": "login_password", "login_password": {"password": SECRET}},
    )
    log_in(page, live_server, "olive")

    page.goto(f"{live_server}/project/{project.id}/integrations")
    page.get_by_test_id("new-integration").click()
    page.get_by_test_id("field-name").fill("GitHub push")
    page.get_by_test_id("field-template_id").select_option(label="Deploy site")
    page.get_by_test_id("field-auth_method").select_option("github")
    page.get_by_test_id("field-auth_secret_id").select_option(label="github-secret")
    screenshot("integration-form")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Integration GitHub push added")

    page.get_by_test_id("add-alias").click()
    url = page.get_by_test_id("alias-url").input_value()
    assert "/api/integrations/" in url
    hook_url = live_server + url[url.index("/api/") :]

    form = page.get_by_test_id("matcher-form")
    form.get_by_test_id("field-name").fill("push events")
    expect(form.get_by_test_id("field-body_data_type")).to_be_hidden()
    form.get_by_test_id("field-key").fill("X-GitHub-Event")
    form.get_by_test_id("add-matcher").click()
    expect(page.get_by_test_id("error-value")).to_contain_text("Value is required")
    form = page.get_by_test_id("matcher-form")
    form.get_by_test_id("field-value").fill("push")
    form.get_by_test_id("add-matcher").click()
    expect(page.get_by_test_id("matcher-row-push events")).to_be_visible()

    values = page.get_by_test_id("value-form")
    values.get_by_test_id("field-name").fill("branch")
    values.get_by_test_id("field-key").fill("ref")
    values.get_by_test_id("field-variable").fill("BRANCH")
    values.get_by_test_id("add-value").click()
    expect(page.get_by_test_id("value-row-branch")).to_be_visible()

    body = json.dumps({"ref": "refs/heads/main", "after": "abc123"}).encode()
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert (
        send(hook_url, body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=0"}) == 204
    )
    assert send(hook_url, body, {"X-GitHub-Event": "ping", "X-Hub-Signature-256": good}) == 204
    assert send(hook_url, body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": good}) == 204

    page.get_by_test_id("refresh-deliveries").click()
    reasons = page.get_by_test_id("delivery-reason")
    expect(reasons).to_have_count(2)
    expect(reasons.nth(0)).to_contain_text("did not match: got 'ping'")
    expect(reasons.nth(1)).to_contain_text("bad signature in X-Hub-Signature-256")
    expect(page.get_by_test_id("outcome-started")).to_have_count(1)
    page.locator(".delivery-details summary").first.click()
    expect(page.get_by_test_id("delivery-headers").first).to_contain_text("redacted")
    screenshot("integration-page-with-deliveries")

    page.get_by_test_id("delivery-task").click()
    expect(page.get_by_test_id("task-environment")).to_contain_text("refs/heads/main")

    page.get_by_test_id("nav-integrations").click()
    expect(page.get_by_test_id("integration-row-GitHub push")).to_be_visible()
    screenshot("integrations-index")
