"""Cron fields are read in `schedule.timezone` (UTC by default), never in the server's own zone;
a schedule's CRON_TZ= prefix wins; /api/info and the schedules page say so; a bad zone name
is refused when the config is loaded."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from semaphore.config import load_config
from semaphore.errors import ConfigError
from semaphore.extensions import db
from semaphore.models import Schedule, Task
from semaphore.scheduler.runner import ScheduleRunner
from semaphore.web.schedules import next_run
from tests import factories
from tests.web.helpers import Browser

BERLIN = {"schedule_timezone": "Europe/Berlin"}


def at(day: int, hour: int, minute: int, second: float = 0.0) -> datetime:
    """A moment in January 2024 (the 1st is a Monday), UTC; Berlin is an hour ahead then."""
    whole = int(second)
    return datetime(2024, 1, day, hour, minute, whole, round((second - whole) * 1e6), tzinfo=UTC)


@pytest.fixture
def server_in_tokyo():
    """The test process's own zone is Asia/Tokyo (UTC+9), as a server's TZ would make it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    assert datetime.now().astimezone().utcoffset().total_seconds() == 9 * 3600
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def fires(cron_format: str, moments: list[datetime]) -> list[datetime]:
    """The moments at whose tick a scheduler (reading the app's settings) started a task."""
    schedule = factories.schedule(cron_format=cron_format, active=True)
    clock = ScheduleRunner()
    started = [moment for moment in moments if clock.tick(moment)]
    count = len(db.session.scalars(select(Task).where(Task.schedule_id == schedule.id)).all())
    assert count == len(started)
    return started


# Around 00:00 UTC (09:00 in Tokyo), 08:00 UTC (09:00 in Berlin), 09:00 and 14:00 UTC.
TICKS = [
    at(1, 23, 59, 30),
    at(2, 0, 0, 0.2),
    at(2, 7, 59, 59),
    at(2, 8, 0, 0.2),
    at(2, 8, 59, 59),
    at(2, 9, 0, 0.2),
    at(2, 13, 59, 59),
    at(2, 14, 0, 0.2),
]


@pytest.mark.parametrize("config_overrides", [BERLIN])
def test_cron_fields_fire_in_the_configured_zone_not_the_servers(app, server_in_tokyo):
    assert fires("0 9 * * *", TICKS) == [at(2, 8, 0, 0.2)]


@pytest.mark.parametrize("config_overrides", [BERLIN])
def test_a_schedules_own_zone_wins(app, server_in_tokyo):
    assert fires("CRON_TZ=America/New_York 0 9 * * *", TICKS) == [at(2, 14, 0, 0.2)]


def test_without_the_setting_cron_fields_are_utc(app, server_in_tokyo):
    assert fires("0 9 * * *", TICKS) == [at(2, 9, 0, 0.2)]


@pytest.mark.parametrize("config_overrides", [BERLIN])
def test_info_reports_the_configured_zone(user_api):
    assert user_api.get("/api/info").get_json()["schedule_timezone"] == "Europe/Berlin"


def test_info_reports_utc_by_default(user_api):
    assert user_api.get("/api/info").get_json()["schedule_timezone"] == "UTC"


# --- the schedules page --------------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [BERLIN])
def test_the_schedules_page_shows_the_next_run_in_the_schedules_zone_and_the_viewers(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    factories.schedule(project=project, name="morning", cron_format="0 9 * * *", active=True)
    factories.schedule(
        project=project, name="tokyo", cron_format="CRON_TZ=Asia/Tokyo 0 9 * * *", active=True
    )
    web = Browser(app)
    web.log_in(owner)
    html = web.get(f"/project/{project.id}/schedules").get_data(as_text=True)
    morning = html.split('data-testid="schedule-row-morning"')[1].split("</tr>")[0]
    assert " 09:00 Europe/Berlin</span>" in morning
    # The viewer's zone is the browser's (app.js fills this in); until then, UTC.
    assert 'data-zone="Europe/Berlin" data-testid="next-run-local">(' in morning
    assert " 08:00 UTC)</div>" in morning
    tokyo = html.split('data-testid="schedule-row-tokyo"')[1].split("</tr>")[0]
    assert " 09:00 Asia/Tokyo</span>" in tokyo and " 00:00 UTC)</div>" in tokyo


def test_next_run_names_the_zones():
    schedule = Schedule(type="", cron_format="0 9 * * *", active=True)
    berlin = next_run(schedule, at(1, 12, 0), ZoneInfo("Europe/Berlin"))
    assert (berlin.at, berlin.zone) == (at(2, 8, 0), "Europe/Berlin")
    assert (berlin.in_zone, berlin.absolute) == (
        "Tue 02 Jan 09:00 Europe/Berlin",
        "Tue 02 Jan 08:00 UTC",
    )
    utc = next_run(schedule, at(1, 12, 0))
    assert (utc.at, utc.zone, utc.in_zone) == (at(2, 9, 0), "UTC", "Tue 02 Jan 09:00 UTC")


# --- the setting ---------------------------------------------------------------------------------


def test_the_setting_is_read_from_the_file_and_the_environment(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"schedule": {"timezone": "Europe/Berlin"}}))
    assert load_config(str(path), {}, persist_secrets=False).schedule_timezone == "Europe/Berlin"
    environ = {"SEMAPHORE_SCHEDULE_TIMEZONE": "America/New_York"}
    overridden = load_config(str(path), environ, persist_secrets=False)
    assert overridden.schedule_timezone == "America/New_York"
    assert load_config(environ={}, use_file=False, persist_secrets=False).schedule_timezone == "UTC"


@pytest.mark.parametrize(
    ("file_values", "environ"),
    [
        ({}, {"SEMAPHORE_SCHEDULE_TIMEZONE": "Mars/Olympus"}),
        ({"schedule": {"timezone": "Europe"}}, {}),  # a folder of the zone database
        ({"schedule": {"timezone": "../../etc/passwd"}}, {}),
        ({"schedule": {"timezone": 3}}, {}),
    ],
)
def test_a_bad_zone_is_refused_at_load(tmp_path, file_values, environ):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(file_values))
    with pytest.raises(ConfigError) as refused:
        load_config(str(path), environ, persist_secrets=False)
    assert str(refused.value).startswith("configuration error in 'schedule.timezone': ")


def test_a_schedule_block_that_is_no_object_is_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"schedule": "Europe/Berlin"}))
    with pytest.raises(ConfigError, match="'schedule': expected an object with timezone"):
        load_config(str(path), {}, persist_secrets=False)
