"""Who or what started a task, beyond its user: the schedule or the integration, by name.

The task rows carry `schedule_id` and `integration_id`; the names come from one query per
kind for a whole list of tasks, never one per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Integration, Schedule, Task


@dataclass(frozen=True)
class Origins:
    """Names of the schedules and integrations that started some tasks, by id."""

    schedules: dict[int, str] = field(default_factory=dict)
    integrations: dict[int, str] = field(default_factory=dict)


def origins(tasks: Iterable[Task]) -> Origins:
    """The names of the schedules and integrations that started these tasks (a schedule
    without a name is "#<id>", as the schedules page shows it)."""
    rows = list(tasks)
    schedule_ids = {task.schedule_id for task in rows if task.schedule_id is not None}
    integration_ids = {task.integration_id for task in rows if task.integration_id is not None}
    schedules: dict[int, str] = {}
    integrations: dict[int, str] = {}
    if schedule_ids:
        query = select(Schedule.id, Schedule.name).where(Schedule.id.in_(schedule_ids))
        schedules = {id_: name or f"#{id_}" for id_, name in db.session.execute(query)}
    if integration_ids:
        query = select(Integration.id, Integration.name).where(Integration.id.in_(integration_ids))
        integrations = {id_: name for id_, name in db.session.execute(query)}
    return Origins(schedules, integrations)
