"""In the browser: the schedules page says when each schedule runs next."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from semaphore.models import utcnow
from tests import factories

pytestmark = pytest.mark.browser


def log_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("field-auth").fill(username)
    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()


def test_schedules_show_their_next_run(app, live_server, page, screenshot):
    owner = factories.user(username="olive")
    project = factories.project(name="Apollo", members={owner: "owner"})
    template = factories.template(project=project, name="Deploy site")
    repository = factories.repository(project=project, name="site")
    soon = (utcnow() + timedelta(days=2, minutes=5)).replace(second=0, microsecond=0)
    for fields in (
        {"name": "every minute", "cron_format": "* * * * *", "active": True},
        {"name": "nightly", "cron_format": "0 3 * * *", "active": True},
        {"name": "release", "type": "run_at", "cron_format": "", "run_at": soon, "active": True},
        {"name": "paused", "cron_format": "*/5 * * * *", "active": False},
        {
            "name": "on push",
            "cron_format": "*/10 * * * *",
            "active": False,
            "repository_id": repository.id,
        },
    ):
        factories.schedule(project=project, template_id=template.id, **fields)
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/schedules")
    minutely = page.get_by_test_id("schedule-row-every minute").get_by_test_id("next-run")
    expect(minutely).to_contain_text("in ")
    expect(minutely).to_contain_text(" UTC")
    expect(page.get_by_test_id("schedule-row-release")).to_contain_text("in 2 days")
    expect(page.get_by_test_id("schedule-row-paused").get_by_test_id("next-run")).to_have_text("—")
    expect(page.get_by_test_id("schedule-row-on push")).to_contain_text("if a new commit arrived")
    screenshot("schedules-next-run")
