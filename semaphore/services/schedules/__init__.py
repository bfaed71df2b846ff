"""Schedules: start a template on a cron expression (schedules.cron), or once at a given time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Repository, Schedule, Template
from semaphore.schemas.json_text import stored_object
from semaphore.services import events, listing
from semaphore.services import validation as v
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import check_body_ids, get_in_project, reference

if TYPE_CHECKING:
    from semaphore.schemas.listing import Page
    from semaphore.schemas.schedules import ScheduleIn

# The scheduler imports this package (schedules.cron) and stays idle most of its life: the
# schemas (pydantic) are imported by the functions that check a body, the first time one runs
# (issue 17).

# --- the resource -------------------------------------------------------------------------------


def list_schedules(
    access: ProjectAccess, *, page: Page | None = None
) -> listing.Rows[tuple[Schedule, str]]:
    """The project's schedules with their template's name (the original's tpl_name)."""
    query = (
        select(Schedule, Template.name)
        .join(Template, Template.id == Schedule.template_id)
        .where(Schedule.project_id == access.project_id)
        .order_by(Schedule.id)
    )
    return listing.rows(query, page, scalars=False)


def list_template_schedules(access: ProjectAccess, template_id: int) -> list[Schedule]:
    """The schedules of one of the project's templates.

    Raises:
        NotFound: no such template in this project.
    """
    get_in_project(Template, template_id, access.project_id, "Template")
    query = select(Schedule).where(
        Schedule.project_id == access.project_id, Schedule.template_id == template_id
    )
    return list(db.session.scalars(query.order_by(Schedule.id)))


def get_schedule(access: ProjectAccess, schedule_id: int) -> Schedule:
    """The project's schedule.

    Raises:
        NotFound: no such schedule in this project.
    """
    return get_in_project(Schedule, schedule_id, access.project_id, "Schedule")


def task_params(schedule: Schedule) -> dict | None:
    """The task parameters a scheduled run starts with, or None."""
    return stored_object(schedule.task_params)


def parse_schedule(data: Mapping[str, Any]) -> ScheduleIn:
    """The body checked by ScheduleIn, the cron expression by the one parser.

    Raises:
        ValidationError: the first problem ("Cron: …" for the expression).
    """
    from semaphore.schemas.base import parse
    from semaphore.schemas.schedules import ScheduleIn

    return parse(ScheduleIn, data)


def check_cron(data: Mapping[str, Any]) -> None:
    """POST …/schedules/validate: refuse {"cron_format": …} the scheduler could not run.

    Raises:
        ValidationError: "Cron: <the original's parser message>".
    """
    from semaphore.schemas.base import parse
    from semaphore.schemas.schedules import CronIn

    parse(CronIn, data)


def _schedule_values(
    access: ProjectAccess, data: Mapping[str, Any], schedule_id: int | None
) -> dict:
    """Every column of the schedule from the request; nothing is written."""
    from semaphore.schemas.schedules import run_at_time

    v.require_mapping(data)
    check_body_ids(access, data, "Schedule", schedule_id)
    body = parse_schedule(data)
    # The environment and arguments texts inside are stored unchecked, as in the original,
    # but never JSON nested past what a run can parse.
    v.refuse_deep_json_texts(data.get("task_params"), "task_params")
    pid = access.project_id
    return {
        "template_id": reference(data, "template_id", Template, pid, "Template", required=True),
        "name": body.name,
        "cron_format": body.cron_format,
        "active": body.active,
        "type": body.type,
        "run_at": run_at_time(body.run_at),
        "repository_id": reference(data, "repository_id", Repository, pid, "Repository"),
        "task_params": body.task_params.stored() if body.task_params is not None else None,
    }


def _label(schedule: Schedule) -> str:
    return f"Schedule {schedule.name}" if schedule.name else f"Schedule ID {schedule.id}"


def create_schedule(access: ProjectAccess, data: Mapping[str, Any]) -> Schedule:
    """A new schedule of one of the project's templates."""
    access.require(MANAGE_RESOURCES)
    schedule = Schedule(project_id=access.project_id, **_schedule_values(access, data, None))
    db.session.add(schedule)
    db.session.flush()
    events.record(access, "schedule", schedule.id, f"{_label(schedule)} created")
    db.session.commit()
    return schedule


def update_schedule(access: ProjectAccess, schedule_id: int, data: Mapping[str, Any]) -> Schedule:
    """Replace a schedule; the remembered commit is forgotten, so a commit check fires anew."""
    access.require(MANAGE_RESOURCES)
    schedule = get_schedule(access, schedule_id)
    for key, value in _schedule_values(access, data, schedule_id).items():
        setattr(schedule, key, value)
    schedule.last_commit_hash = None
    events.record(access, "schedule", schedule.id, f"{_label(schedule)} updated")
    db.session.commit()
    return schedule


def set_active(access: ProjectAccess, schedule_id: int, data: Mapping[str, Any]) -> Schedule:
    """Switch a schedule on or off ({"active": bool})."""
    from semaphore.schemas.base import parse
    from semaphore.schemas.schedules import ScheduleActiveIn

    access.require(MANAGE_RESOURCES)
    schedule = get_schedule(access, schedule_id)
    schedule.active = parse(ScheduleActiveIn, data).active
    events.record(access, "schedule", schedule.id, f"{_label(schedule)} updated")
    db.session.commit()
    return schedule


def delete_schedule(access: ProjectAccess, schedule_id: int) -> None:
    """Remove a schedule."""
    access.require(MANAGE_RESOURCES)
    schedule = get_schedule(access, schedule_id)
    label = _label(schedule)
    db.session.delete(schedule)
    events.record(access, "schedule", schedule_id, f"{label} deleted")
    db.session.commit()
