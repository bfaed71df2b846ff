"""In the browser: a schedule's next run in its own zone and in the viewer's (app.js, Intl)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.test_schedule_pages import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_context_args(browser_context_args, request):
    """The viewer's browser runs in the zone the test names."""
    return {**browser_context_args, "timezone_id": request.param, "locale": "en-US"}


@pytest.mark.parametrize("config_overrides", [{"schedule_timezone": "Europe/Berlin"}])
@pytest.mark.parametrize(
    ("browser_context_args", "yours"),
    [
        # 09:00 in Berlin is 03:00 in New York, but for the weeks their summer times differ.
        ("America/New_York", re.compile(r"\(your time: .*0[234]:00 E[SD]T\)")),
        ("Europe/Berlin", ""),  # the viewer is in the schedule's zone: said once
    ],
    indirect=["browser_context_args"],
)
def test_the_next_run_in_the_schedules_zone_and_the_viewers(app, live_server, page, yours):
    owner = factories.user(username="nina")
    project = factories.project(members={owner: "owner"})
    factories.schedule(project=project, name="morning", cron_format="0 9 * * *", active=True)
    log_in(page, live_server, "nina")
    page.goto(f"{live_server}/project/{project.id}/schedules")
    row = page.get_by_test_id("schedule-row-morning")
    expect(row.get_by_test_id("next-run-zone")).to_contain_text("09:00 Europe/Berlin")
    expect(row.get_by_test_id("next-run-local")).to_have_text(yours)
