"""The task history's filters and its change token.

The filters come from a page's query string: each refused value is named with a message and
ignored, so the page still shows the list (filtered by the values that were understood). The
token lets a list that polls ask "has anything changed?" for the price of one Redis read: it is
the project's change counters (queue/changes.py), which every commit writing the project's rows
counts up, so a new task, a status change or a deleted task all change it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, or_, select

from semaphore.extensions import db
from semaphore.models import FINISHED_STATUSES, TASK_STATUSES, Task, Template
from semaphore.queue import changes
from semaphore.services.permissions import ProjectAccess
from semaphore.services.validation import counting_number

ACTIVE = "active"
AUTOMATED = "automated"
ACTIVE_STATUSES = tuple(status for status in TASK_STATUSES if status not in FINISHED_STATUSES)
# A list showing unfinished tasks is redrawn at least this often, even with no change counted:
# their durations run on, and why a task waits can change with a runner (not a project's row).
ACTIVE_REFRESH_SECONDS = 10
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks a list shows: of one status (or any unfinished one: "active"), of one
    template, started by one user (or by a schedule or an integration: "automated"), created on
    days from `since` to `until` (UTC, both included)."""

    status: str | None = None
    template_id: int | None = None
    user: int | str | None = None
    since: date | None = None
    until: date | None = None

    def query_args(self) -> dict[str, str]:
        """The filters as the page's query string names them (absent ones left out)."""
        values = {
            "status": self.status,
            "template": self.template_id,
            "user": self.user,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
        }
        return {name: str(value) for name, value in values.items() if value is not None}

    def __bool__(self) -> bool:
        return bool(self.query_args())


def parse_filter(args: Mapping[str, str]) -> tuple[TaskFilter, dict[str, str]]:
    """The filters of a query string (`status`, `template`, `user`, `from`, `to`; empty ones
    are absent), and a message for each value refused, keyed by its name."""
    errors: dict[str, str] = {}
    status = args.get("status") or None
    if status is not None and status != ACTIVE and status not in TASK_STATUSES:
        errors["status"] = "Status must be one of: active, " + ", ".join(TASK_STATUSES)
        status = None
    template_id = _whole(args, "template", "Template", errors)
    user: int | str | None = args.get("user") or None
    if user != AUTOMATED:
        user = _whole(args, "user", "Started by", errors, extra=f" or {AUTOMATED}")
    since = _day(args, "from", "From", errors)
    until = _day(args, "to", "To", errors)
    if since and until and since > until:
        errors["from"] = "From must not be after To"
        since = until = None  # which end is wrong is not known: the range is ignored
    return TaskFilter(status, template_id, user, since, until), errors


def _whole(
    args: Mapping[str, str], name: str, label: str, errors: dict[str, str], extra: str = ""
) -> int | None:
    raw = args.get(name) or ""
    if not raw:
        return None
    number = counting_number(raw)
    if number is not None:
        return number
    errors[name] = f"{label} must be an id (a whole number from 1){extra}"
    return None


def _day(args: Mapping[str, str], name: str, label: str, errors: dict[str, str]) -> date | None:
    raw = args.get(name) or ""
    if not raw:
        return None
    if _DAY.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    errors[name] = f"{label} must be a date (YYYY-MM-DD)"
    return None


def apply_filter(query: Select, found: TaskFilter) -> Select:
    """The query narrowed to the tasks the filter names (in SQL)."""
    if found.status == ACTIVE:
        query = query.where(Task.status.in_(ACTIVE_STATUSES))
    elif found.status:
        query = query.where(Task.status == found.status)
    if found.template_id is not None:
        query = query.where(Task.template_id == found.template_id)
    if found.user == AUTOMATED:
        query = query.where(
            Task.user_id.is_(None),
            or_(Task.schedule_id.is_not(None), Task.integration_id.is_not(None)),
        )
    elif found.user is not None:
        query = query.where(Task.user_id == found.user)
    if found.since:
        query = query.where(Task.created >= _midnight(found.since))
    if found.until:
        query = query.where(Task.created < _midnight(found.until) + timedelta(days=1))
    return query


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def template_choices(access: ProjectAccess) -> list[tuple[int, str]]:
    """The project's templates (id, name) by name, for a filter's select."""
    query = (
        select(Template.id, Template.name)
        .where(Template.project_id == access.project_id)
        .order_by(Template.name, Template.id)
    )
    return [(id_, name) for id_, name in db.session.execute(query)]


def stamp(access: ProjectAccess) -> str | None:
    """The project's change counters as a string (None when Redis cannot say). Take it before
    reading the rows it labels, so that it is never newer than they are."""
    found = changes.stamp(access.project_id)
    if found is None:
        return None
    return "-".join((part or b"0").decode() for part in found)


def change_token(stamp: str | None, shows_active: bool) -> str | None:
    """What a polling list sends back (`unchanged`): the stamp taken before its rows were read
    and, when it shows unfinished tasks, the current ACTIVE_REFRESH_SECONDS period."""
    if stamp is None:
        return None
    return f"{stamp}~{_period()}" if shows_active else stamp


def unchanged(access: ProjectAccess, known: str | None) -> bool:
    """True when a list labelled `known` (change_token's) would be drawn the same now."""
    current = stamp(access)
    if current is None or not known:
        return False
    counters, _, period = known.partition("~")
    return counters == current and (not period or period == str(_period()))


def _period() -> int:
    return int(time.time()) // ACTIVE_REFRESH_SECONDS
