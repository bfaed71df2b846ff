"""In the browser: every form of the pages that POSTs, sent (often refused), then reloaded.

A reload asks for the URL in the address bar with GET. An hx-boost form pushes the URL it
posted to, so every page a POST leaves on screen must either have redirected to a GET page or
sit at a URL that answers GET: never "405 · Not allowed". The forms are found by their action
URL, and the test fails on a POST route of the pages it did not send a form to.
"""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import Integration, IntegrationAlias, Runner
from semaphore.services.auth import two_factor
from tests import factories

pytestmark = pytest.mark.browser

# POST routes no form of the pages sends in this test, each with the reason that is safe.
NOT_SENT: dict[str, str] = {
    "web.environments_check_variables": "the environment form's check as the user types: "
    "answers a line under the field, never a page, and saves nothing",
}

# Marks <html> once the next POST made by htmx has been swapped in (or answered with nothing).
WATCH_POST = """() => {
  document.documentElement.removeAttribute("data-test-posted");
  const done = (event) => {
    const config = event.detail && event.detail.requestConfig;
    if (config && config.verb === "post") { setTimeout(() => {
      document.documentElement.setAttribute("data-test-posted", "");
    }, 0); }
  };
  document.addEventListener("htmx:afterSettle", done);
  document.addEventListener("htmx:afterRequest", (event) => {
    const xhr = event.detail && event.detail.xhr;
    if (xhr && (xhr.status === 204 || xhr.status >= 300)) { done(event); }
  });
}"""

CLICK_SUBMIT = """(form) => {
  const button = form.querySelector("[type=submit], button:not([type])");
  if (button) { button.click(); } else { form.requestSubmit(); }
}"""


class Driver:
    """Sends forms by their action URL and reloads; remembers which routes it reached."""

    def __init__(self, app, page: Page, live_server: str) -> None:
        self.page = page
        self.base = live_server
        self.adapter = app.url_map.bind("localhost")
        self.sent: set[str] = set()
        self.statuses: dict[str, list[int]] = {}

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def send(
        self,
        action: str,
        *,
        on: str | None = None,
        fill: dict | None = None,
        button: str | None = None,
        confirm: bool = False,
    ) -> None:
        """Open `on` (default: the action itself, a form page), fill fields by test id, send
        the form posting to `action` (or click `button`), then reload and check the page."""
        page = self.page
        self.goto(on or action)
        for testid, value in (fill or {}).items():
            page.get_by_test_id(testid).fill(value)
        page.evaluate(WATCH_POST)
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            if button is not None:
                page.get_by_test_id(button).evaluate("(b) => b.click()")
            else:
                form = page.locator(f'form[action="{action}"]')
                if not form.count():
                    form = page.locator("main form[method=post]:not([action])")
                form.first.evaluate(CLICK_SUBMIT)
            if confirm:
                page.get_by_test_id("confirm-ok").click()
        response = posted.value
        endpoint = self._endpoint(response.url)
        self.sent.add(endpoint)
        self.statuses.setdefault(endpoint, []).append(response.status)
        redirect = response.headers.get("hx-redirect")
        if redirect:  # htmx loads that page itself
            page.wait_for_url(self.base + redirect)
            page.wait_for_load_state()
        else:
            # A locator, not wait_for_function: the pages' CSP forbids the eval that one needs.
            expect(page.locator("html[data-test-posted]")).to_be_attached()
        shown = page.url
        reloaded = page.reload()
        assert reloaded is not None, (endpoint, shown)
        assert reloaded.status != 405, (endpoint, shown)
        assert reloaded.status < 400, (endpoint, shown, reloaded.status)
        expect(page.get_by_test_id("error-page")).to_have_count(0)
        assert page.locator("body").inner_text().strip(), (endpoint, shown)

    def _endpoint(self, url: str) -> str:
        path = re.sub(r"^https?://[^/]+", "", url).split("?")[0]
        endpoint, _ = self.adapter.match(path, method="POST")
        return endpoint


def _log_in(driver: Driver, username: str) -> None:
    page = driver.page
    driver.goto("/auth/login")
    page.get_by_test_id("field-auth").fill(username)
    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-menu")).to_be_attached()


def _enrolled(user) -> pyotp.TOTP:
    enrolment = two_factor.begin_enrolment(user)
    totp = pyotp.TOTP(enrolment.secret)
    two_factor.confirm_enrolment(user, totp.now())
    return totp


def test_every_post_form_of_the_pages_survives_a_reload(app, live_server, page):
    root = factories.user(admin=True, username="root", name="Root", email="root@example.com")
    member = factories.user(username="mia", name="Mia Member", email="mia@example.com")
    guarded = factories.user(username="tess", name="Tess Totp", email="tess@example.com")
    _enrolled(guarded)
    project = factories.project(name="Apollo", members={root: "owner", member: "guest"})
    p = f"/project/{project.id}"
    key = factories.key(project=project, name="deploy")
    repository = factories.repository(project=project, name="site")
    inventory = factories.inventory(project=project, name="hosts")
    environment = factories.environment(project=project, name="prod")
    view = factories.view(project=project, title="Ops")
    template = factories.template(project=project, name="Deploy")
    schedule = factories.schedule(project=project, template_id=template.id, name="nightly")
    integration = Integration(project_id=project.id, name="push", template_id=template.id)
    db.session.add(integration)
    db.session.commit()
    db.session.add(IntegrationAlias(alias="abc123", project_id=project.id, integration_id=None))
    factories.task(of=template, status="success")
    running = factories.task(of=template, status="running")
    running_too = factories.task(of=template, status="running")
    asks = factories.task(of=template, status="waiting_confirmation")
    asks_again = factories.task(of=template, status="waiting_confirmation")
    project_runner = Runner(name="local", project_id=project.id)
    global_runner = Runner(name="shared")
    db.session.add_all([project_runner, global_runner])
    db.session.commit()

    driver = Driver(app, page, live_server)

    # Signing in: a refused password, then the second step's refused code.
    driver.send("/auth/login", fill={"field-auth": "root", "field-password": "wrong password"})
    driver.send(
        "/auth/login", fill={"field-auth": "tess", "field-password": factories.DEFAULT_PASSWORD}
    )
    driver.send("/auth/verify", fill={"field-totp-passcode": "000000"})
    page.context.clear_cookies()
    _log_in(driver, "root")

    # The account: tokens, sessions, two-factor set up, new recovery codes, turned off.
    driver.send("/account/tokens", on="/account", fill={"field-name": "CI"})
    token_id = page.locator("[data-testid^=revoke-token-]").first.get_attribute("data-testid")
    driver.send(f"/account/tokens/{token_id.removeprefix('revoke-token-')}/revoke", on="/account")
    other = page.context.browser.new_context()
    _log_in(Driver(app, other.new_page(), live_server), "root")
    driver.goto("/account")
    session = page.locator("[data-testid^=revoke-session-]").first.get_attribute("data-testid")
    driver.send(
        f"/account/sessions/{session.removeprefix('revoke-session-')}/revoke", on="/account"
    )
    _log_in(Driver(app, other.new_page(), live_server), "root")
    driver.send("/account/sessions/revoke-others", on="/account")
    other.close()
    driver.send("/account/2fa/begin", on="/account")
    driver.send("/account/2fa/confirm", fill={"field-passcode": "12"})
    secret = page.get_by_test_id("totp-secret").inner_text()
    driver.send("/account/2fa/confirm", fill={"field-passcode": pyotp.TOTP(secret).now()})
    driver.send(
        "/account/2fa/recovery-codes",
        on="/account",
        fill={"field-passcode": "1"},
        button="new-recovery-codes",
    )
    driver.send(
        "/account/2fa/disable", on="/account", fill={"field-passcode": "1"}, button="totp-disable"
    )

    # Administration: users and global runners.
    driver.send("/users/new")
    driver.send(f"/users/{member.id}/edit", fill={"field-email": "not an e-mail"})
    driver.send(f"/users/{guarded.id}/2fa/reset", on=f"/users/{guarded.id}/edit")
    driver.send("/runners/new")
    driver.send(f"/runners/{global_runner.id}/edit", fill={"field-name": ""})
    driver.send(f"/runners/{global_runner.id}/registration-token", on="/runners")
    driver.send(f"/runners/{global_runner.id}/active", on="/runners")

    # A project: every create and edit form, refused (an empty name) where it has a name.
    driver.send("/projects/new")
    driver.send(f"{p}/settings", fill={"field-name": ""})
    driver.send(f"{p}/settings/test-notification", on=f"{p}/settings")
    driver.send(f"{p}/settings/restore", on=f"{p}/settings")
    driver.send(f"{p}/members")
    driver.send(f"{p}/members/{member.id}/role", on=f"{p}/members")
    for kind, row in (
        ("keys", key),
        ("repositories", repository),
        ("inventory", inventory),
        ("environment", environment),
        ("schedules", schedule),
    ):
        driver.send(f"{p}/{kind}/new")
        driver.send(f"{p}/{kind}/{row.id}/edit", fill={"field-name": ""})
    driver.send(f"{p}/views/new")
    driver.send(f"{p}/views/{view.id}/edit", fill={"field-title": ""})
    driver.send(f"{p}/templates/new")
    driver.send(f"{p}/templates/{template.id}/edit", fill={"field-name": ""})
    driver.send(f"{p}/integrations/new")
    driver.send(f"{p}/integrations/{integration.id}/edit", fill={"field-name": ""})
    show = f"{p}/integrations/{integration.id}"
    driver.send(f"{show}/aliases", on=show)
    driver.send(f"{show}/matchers", on=show)
    driver.send(f"{show}/values", on=show)
    driver.send(f"{p}/integrations/aliases", on=f"{p}/integrations")
    driver.send(f"{p}/runners/new")
    driver.send(f"{p}/runners/{project_runner.id}/edit", fill={"field-name": ""})
    driver.send(f"{p}/runners/{project_runner.id}/registration-token", on=f"{p}/runners")
    driver.send(f"{p}/runners/{project_runner.id}/active", on=f"{p}/runners")

    # Tasks: run (refused, then queued), stop, confirm, reject (re-run is the run dialog).
    driver.send(f"{p}/templates/{template.id}/run")
    driver.send(f"{p}/tasks/{running.id}/stop", on=f"{p}/tasks/{running.id}")
    driver.send(f"{p}/tasks/{asks.id}/confirm", on=f"{p}/tasks/{asks.id}")
    driver.send(f"{p}/tasks/{asks_again.id}/reject", on=f"{p}/tasks/{asks_again.id}", confirm=True)

    if "web.active_tasks_stop" in app.view_functions:  # the admins' queue page (issue 21)
        driver.send(f"/tasks/{running_too.id}/stop", on="/tasks", confirm=True)

    # The user menu's forms, last: the theme, then signing out.
    if "web.account_color_scheme" in app.view_functions:  # the theme switch (another change)
        driver.send("/account/color-scheme", on="/account")
    driver.send("/auth/logout", on="/account")

    posted = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("web.") and "POST" in rule.methods
    }
    missing = posted - driver.sent - set(NOT_SENT)
    assert not missing, f"POST routes no form was sent to: {sorted(missing)}"
    refused = [e for e, codes in driver.statuses.items() if 422 in codes]
    # The forms were refused too, not only accepted (a reload of a 422 answer is the case
    # the issue found).
    assert len(refused) >= 15, refused
