"""The schedules page says, in words, when each schedule runs next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from semaphore.models import Schedule
from semaphore.web.schedules import absolute_time, next_run, relative_time
from tests import factories
from tests.web.helpers import Browser

NOW = datetime(2024, 1, 1, 10, 0, 30, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=30), "in 30 s"),
        (timedelta(minutes=3, seconds=40), "in 3 min"),
        (timedelta(hours=1), "in 1 h"),
        (timedelta(hours=5, minutes=2), "in 5 h 2 min"),
        (timedelta(days=1, hours=3), "in 1 day 3 h"),
        (timedelta(days=30, hours=3), "in 30 days"),
        (timedelta(seconds=-2), "in 0 s"),
    ],
)
def test_relative_time(delta, text):
    assert relative_time(delta) == text


def test_absolute_time_names_the_year_only_when_it_is_not_this_one():
    assert absolute_time(datetime(2024, 1, 1, 10, 3, tzinfo=UTC), NOW) == "Mon 01 Jan 10:03 UTC"
    assert absolute_time(datetime(2025, 1, 1, tzinfo=UTC), NOW) == "Wed 01 Jan 2025 00:00 UTC"


def test_next_run_of_each_kind_of_schedule():
    every = next_run(Schedule(type="", cron_format="@every 5m", active=True), NOW)
    assert (every.relative, every.absolute, every.commit_check) == (
        "in 4 min",
        "Mon 01 Jan 10:05 UTC",
        False,
    )
    once = next_run(
        Schedule(type="run_at", run_at=datetime(2024, 1, 2, 9, tzinfo=UTC), active=True), NOW
    )
    assert (once.relative, once.absolute) == ("in 22 h 59 min", "Tue 02 Jan 09:00 UTC")
    assert next_run(Schedule(type="", cron_format="@every 5m", active=False), NOW) is None
    past = Schedule(type="run_at", run_at=datetime(2023, 1, 1, tzinfo=UTC), active=True)
    assert next_run(past, NOW) is None
    assert next_run(Schedule(type="", cron_format="nonsense", active=True), NOW) is None
    bound = next_run(Schedule(type="", cron_format="@every 5m", active=False, repository_id=3), NOW)
    assert bound.commit_check is True  # switched off, yet it checks for new commits


def test_the_schedules_page_shows_the_next_run(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    factories.schedule(project=project, name="minutely", cron_format="* * * * *", active=True)
    factories.schedule(project=project, name="paused", cron_format="* * * * *", active=False)
    web = Browser(app)
    web.log_in(owner)
    html = web.get(f"/project/{project.id}/schedules").get_data(as_text=True)
    assert "<th>Next run</th>" in html
    minutely = html.split('data-testid="schedule-row-minutely"')[1].split("</tr>")[0]
    assert "in " in minutely and " UTC" in minutely and "<time datetime=" in minutely
    paused = html.split('data-testid="schedule-row-paused"')[1].split("</tr>")[0]
    assert '<td class="nowrap" data-testid="next-run"><span class="muted">—</span></td>' in paused
