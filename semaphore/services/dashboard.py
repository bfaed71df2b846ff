"""A project's dashboard: its active and recently finished tasks, and runs per day by status.

Any member (a guest too) may read it; the caller's ProjectAccess already refused non-members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, select

from semaphore.extensions import db
from semaphore.models import FINISHED_STATUSES, Task, Template, User, utcnow
from semaphore.schemas.listing import Page
from semaphore.services import listing
from semaphore.services.permissions import ProjectAccess
from semaphore.services.tasks.history import ACTIVE_STATUSES

# The dashboard shows this many active tasks, and "+N more" linking to the history for the rest.
ACTIVE_LIMIT = 10
RECENT_LIMIT = 10
# The chart's stacks, bottom to top; a status not named in STATUS_BUCKETS counts as "other".
BUCKETS = ("success", "failed", "stopped", "other")
STATUS_BUCKETS = {
    "success": "success",
    "error": "failed",
    "stopped": "stopped",
    "rejected": "stopped",
}

TaskRow = tuple[Task, Template, str | None]


@dataclass(frozen=True)
class DayRuns:
    """The runs created on one day (UTC), counted by bucket."""

    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Totals:
    runs: int
    finished: int
    success: int
    failed: int

    @property
    def success_rate(self) -> int | None:
        """Successful runs among finished ones, in whole percent (None when none finished)."""
        return round(100 * self.success / self.finished) if self.finished else None


def _rows(access: ProjectAccess) -> Select:
    return (
        select(Task, Template, User.name)
        .join(Template, Template.id == Task.template_id)
        .outerjoin(User, User.id == Task.user_id)
        .where(Task.project_id == access.project_id)
    )


def active_tasks(access: ProjectAccess, limit: int = ACTIVE_LIMIT) -> listing.Rows[TaskRow]:
    """The project's newest `limit` tasks that have not finished, with template and user name;
    `total` says how many there are in all."""
    query = (
        _rows(access)
        .where(Task.status.in_(ACTIVE_STATUSES))
        .order_by(Task.created.desc(), Task.id.desc())
    )
    return listing.rows(query, Page(number=1, size=limit), scalars=False)


def recent_tasks(access: ProjectAccess, limit: int = RECENT_LIMIT) -> list[TaskRow]:
    """The project's last finished tasks, the latest to finish first."""
    query = (
        _rows(access)
        .where(Task.status.in_(FINISHED_STATUSES))
        .order_by(func.coalesce(Task.end, Task.created).desc(), Task.id.desc())
        .limit(limit)
    )
    return [tuple(row) for row in db.session.execute(query)]


def _as_date(value: date | datetime | str) -> date:
    # SQLite's date() answers text; PostgreSQL and MySQL a date.
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def daily_runs(access: ProjectAccess, days: int = 30, today: date | None = None) -> list[DayRuns]:
    """Runs created on each of the last `days` days up to `today` (UTC), oldest first, by
    bucket; a day without runs has zero counts. One grouped query, whatever the number of runs.
    """
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    day = func.date(Task.created)
    query = (
        select(day, Task.status, func.count())
        .where(Task.project_id == access.project_id, Task.created >= start, Task.created < end)
        .group_by(day, Task.status)
    )
    counts = {first + timedelta(days=n): dict.fromkeys(BUCKETS, 0) for n in range(days)}
    for value, status, count in db.session.execute(query):
        bucket = counts.get(_as_date(value))
        if bucket is not None:
            bucket[STATUS_BUCKETS.get(status, "other")] += count
    return [DayRuns(day, buckets) for day, buckets in counts.items()]


def totals(runs: list[DayRuns]) -> Totals:
    """The window's sums: all runs, finished ones, successes and failures."""
    summed = {bucket: sum(day.counts[bucket] for day in runs) for bucket in BUCKETS}
    return Totals(
        runs=sum(summed.values()),
        finished=summed["success"] + summed["failed"] + summed["stopped"],
        success=summed["success"],
        failed=summed["failed"],
    )
