"""In the browser, under the Content-Security-Policy every response carries: the main pages load
without a CSP violation or a console message, and the dashboard's live socket still connects."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import Task, utcnow
from semaphore.services.tasks import output as task_output
from tests import factories

pytestmark = pytest.mark.browser

# Collects the page's CSP violations (from the first script that runs on each full load).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push({
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  });
});
"""


def log_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("field-auth").fill(username)
    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()


def _finished_task_with_output(project, template) -> Task:
    now = utcnow()
    task = Task(
        project_id=project.id,
        template_id=template.id,
        status="success",
        start=now - timedelta(seconds=30),
        end=now,
    )
    db.session.add(task)
    db.session.commit()
    lines = ["PLAY [all]", "\x1b[0;32mok: [localhost]\x1b[0m", "\x1b[1;31mchanged\x1b[0m", "done"]
    task_output.store_lines(task.id, 1, [(now, text) for text in lines], project.id)
    db.session.commit()
    return task


def _leave(page: Page, threads_before: set[threading.Thread]) -> None:
    """Close the page's sockets and wait for the server's socket threads to end."""
    page.goto("about:blank")
    for thread in set(threading.enumerate()) - threads_before:
        if thread.name != "live-hub":
            thread.join(timeout=5)


def test_the_main_pages_load_without_a_csp_violation(app, live_server, page, screenshot):
    owner = factories.user(username="olive", name="Olive Owner", admin=True)
    project = factories.project(name="Apollo", members={owner: "owner"})
    template = factories.template(project=project, name="Deploy web")
    factories.schedule(project=project, template_id=template.id, cron_format="0 3 * * *")
    task = _finished_task_with_output(project, template)
    threads_before = set(threading.enumerate())

    messages: list[str] = []
    errors: list[str] = []
    violations: list[dict] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(str(error)))

    def collect(where: str) -> None:
        found = page.evaluate("window.__cspViolations.splice(0)")
        violations.extend({"page": where, **violation} for violation in found)

    response = page.goto(f"{live_server}/auth/login")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-frame-options"] == "DENY"
    collect("login")
    log_in(page, live_server, "olive")
    collect("after login")

    # The dashboard: its live socket connects under connect-src 'self'.
    page.goto(f"{live_server}/project/{project.id}/dashboard")
    expect(page.get_by_test_id("project-dashboard")).to_have_attribute("data-live", "connected")
    expect(page.get_by_test_id("run-chart")).to_be_visible()
    collect("dashboard")

    nav = page.get_by_test_id("project-nav").locator("a")
    hrefs = [nav.nth(index).get_attribute("href") for index in range(nav.count())]
    assert len(hrefs) >= 12, hrefs
    for href in hrefs:
        response = page.goto(f"{live_server}{href}")
        assert response.status == 200, href
        page.wait_for_load_state("networkidle")
        collect(href)

    # The templates page's run dialog (an htmx swap), a template and a finished task's log.
    page.goto(f"{live_server}/project/{project.id}/templates")
    page.get_by_test_id("run-template-Deploy web").click()
    expect(page.get_by_test_id("run-dialog")).to_be_visible()
    collect("run dialog")
    page.goto(f"{live_server}/project/{project.id}/templates/{template.id}")
    collect("template")
    page.goto(f"{live_server}/project/{project.id}/tasks/{task.id}")
    expect(page.get_by_test_id("task-output")).to_contain_text("ok: [localhost]")
    page.wait_for_load_state("networkidle")
    collect("task")

    # A boosted navigation (htmx swaps the page in) to the dashboard still connects.
    page.get_by_test_id("nav-dashboard").click()
    expect(page.get_by_test_id("project-dashboard")).to_have_attribute("data-live", "connected")
    collect("boosted dashboard")

    page.goto(f"{live_server}/users")
    expect(page.get_by_test_id("nav-users")).to_have_attribute("aria-current", "page")
    collect("users")
    screenshot("csp-users")

    assert violations == []
    assert errors == []
    assert messages == []
    _leave(page, threads_before)
