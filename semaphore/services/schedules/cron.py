"""When schedules fire: cron fields are read in the schedule's own zone (a CRON_TZ= or TZ=
prefix), else in the `schedule.timezone` setting's (UTC by default), never in the server's
local one; `@every` counts from the schedule's last run (next_run) or from the Unix epoch
(next_fire, the scheduler's). Parsing is schemas.cron's, the one parser.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from croniter import croniter

from semaphore.config import current_config
from semaphore.models import Schedule
from semaphore.schemas.cron import parse_cron


def default_zone() -> ZoneInfo:
    """The zone of cron fields without CRON_TZ: the `schedule.timezone` setting (checked when
    the config was loaded)."""
    return ZoneInfo(current_config().schedule_timezone)


def schedule_zone(schedule: Schedule, default: tzinfo) -> tzinfo:
    """The zone the schedule's cron fields are read in: its CRON_TZ=, else `default`."""
    try:
        return parse_cron(schedule.cron_format or "").zone or default
    except ValueError:
        return default


def next_run(schedule: Schedule, after: datetime, *, zone: tzinfo | None = None) -> datetime | None:
    """When the schedule fires next, strictly after `after` (UTC), or None if never.

    Cron fields without CRON_TZ are read in `zone`, by default the `schedule.timezone` setting.
    """
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    if schedule.type == "run_at":
        run_at = schedule.run_at
        if run_at is not None and run_at.tzinfo is None:
            run_at = run_at.replace(tzinfo=UTC)
        return run_at if run_at is not None and run_at > after else None
    try:
        spec = parse_cron(schedule.cron_format or "")
    except ValueError:
        return None
    if spec.every is not None:
        return after.replace(microsecond=0) + spec.every
    local = after.astimezone(spec.zone or zone or default_zone())
    try:
        found = croniter(spec.cron, local).get_next(datetime)
    except Exception:  # noqa: BLE001 - an impossible date (Feb 30) never fires
        return None
    return found.astimezone(UTC)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def next_fire(
    schedule: Schedule, after: datetime, *, zone: tzinfo | None = None
) -> datetime | None:
    """When the scheduler next starts the schedule, strictly after `after`; None if never.

    As `schedules.next_run`, except that `@every` counts from the Unix epoch.
    """
    after = aware(after)
    if schedule.type != "run_at":
        try:
            spec = parse_cron(schedule.cron_format or "")
        except ValueError:
            return None
        if spec.every is not None:
            step = int(spec.every.total_seconds())
            return datetime.fromtimestamp((math.floor(after.timestamp() / step) + 1) * step, UTC)
    return next_run(schedule, after, zone=zone)


def latest_fire(
    schedule: Schedule, since: datetime, moment: datetime, *, zone: tzinfo | None = None
) -> datetime | None:
    """The last fire time in (since, moment], or None."""
    fire = next_fire(schedule, since, zone=zone)
    if fire is None or fire > moment:
        return None
    while (following := next_fire(schedule, fire, zone=zone)) is not None and following <= moment:
        fire = following
    return fire
