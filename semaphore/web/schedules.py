"""The schedules pages: list (with when each runs next), add, edit, remove."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from flask import Response, url_for
from flask_login import login_required

from semaphore.models import Schedule, isoformat, utcnow
from semaphore.services import repositories, schedules, templates
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.schedules.cron import default_zone, next_fire, schedule_zone
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import ScheduleForm
from semaphore.web.htmx import render
from semaphore.web.project_resources import (
    choices,
    delete_and_return,
    edit_form,
    form_page,
    id_or_none,
    project_scope,
    submit_form,
)


@web_blueprint.get("/project/<int:project_id>/schedules")
@login_required
def schedules_index(project_id: int) -> Response:
    access = project_scope(project_id)
    rows = schedules.list_schedules(access)
    now = utcnow()
    zone = default_zone()
    return render(
        "projects/schedules/index.html",
        access=access,
        schedules=rows,
        next_runs={schedule.id: next_run(schedule, now, zone) for schedule, _ in rows},
    )


@dataclass(frozen=True)
class NextRun:
    """When the scheduler next looks at a schedule, in words for people."""

    at: datetime  # UTC
    relative: str
    absolute: str  # in UTC
    zone: str  # the zone of the schedule's cron fields
    in_zone: str  # the time in that zone
    commit_check: bool  # bound to a repository: it runs then only if a new commit arrived


def next_run(schedule: Schedule, now: datetime, default: tzinfo = UTC) -> NextRun | None:
    """The schedule's next fire time, or None when it never fires (switched off, past, invalid).

    `default` is the zone of cron fields without CRON_TZ (the `schedule.timezone` setting).
    """
    if not schedule.active and schedule.repository_id is None:
        return None
    at = next_fire(schedule, now, zone=default)
    if at is None:
        return None
    zone = schedule_zone(schedule, default)
    return NextRun(
        at=at,
        relative=relative_time(at - now),
        absolute=absolute_time(at, now),
        zone=zone_name(zone),
        in_zone=absolute_time(at, now, zone),
        commit_check=bool(schedule.repository_id),
    )


def zone_name(zone: tzinfo) -> str:
    """A zone as people name it: its IANA key ("Europe/Berlin"), else its name ("UTC")."""
    return getattr(zone, "key", None) or str(zone)


def relative_time(delta: timedelta) -> str:
    """A time ahead in words: "in 42 s", "in 3 min", "in 5 h 2 min", "in 3 days"."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"in {seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"in {hours} h {minutes} min" if minutes else f"in {hours} h"
    days, hours = divmod(hours, 24)
    unit = "day" if days == 1 else "days"
    return f"in {days} {unit} {hours} h" if hours and days < 7 else f"in {days} {unit}"


def absolute_time(at: datetime, now: datetime, zone: tzinfo = UTC) -> str:
    """The date and time in `zone` as pages show them ("Mon 01 Jan 10:03 UTC",
    "Mon 01 Jan 11:03 Europe/Berlin"), the year if not now's."""
    at = at.astimezone(zone)
    shown = at.strftime("%a %d %b %H:%M" if at.year == now.year else "%a %d %b %Y %H:%M")
    return f"{shown} {zone_name(zone)}"


@web_blueprint.route("/project/<int:project_id>/schedules/new", methods=["GET", "POST"])
@login_required
def schedules_new(project_id: int) -> Response:
    access = project_scope(project_id)
    form = edit_form(ScheduleForm, {"active": True})
    done = submit_form(
        form,
        lambda: schedules.create_schedule(access, _data(form, None)),
        lambda schedule: f"Schedule {schedule.name or schedule.id} added",
        _index_url(project_id),
    )
    return done or _page(access, form, None)


@web_blueprint.route(
    "/project/<int:project_id>/schedules/<int:schedule_id>/edit", methods=["GET", "POST"]
)
@login_required
def schedules_edit(project_id: int, schedule_id: int) -> Response:
    access = project_scope(project_id)
    schedule = schedules.get_schedule(access, schedule_id)
    form = edit_form(
        ScheduleForm,
        {
            "name": schedule.name,
            "template_id": str(schedule.template_id),
            "type": schedule.type,
            "cron_format": schedule.cron_format,
            "run_at": isoformat(schedule.run_at) if schedule.run_at else "",
            "repository_id": str(schedule.repository_id) if schedule.repository_id else "",
            "active": schedule.active,
        },
    )
    done = submit_form(
        form,
        lambda: schedules.update_schedule(access, schedule_id, _data(form, schedule)),
        lambda saved: f"Schedule {saved.name or saved.id} saved",
        _index_url(project_id),
    )
    return done or _page(access, form, schedule)


@web_blueprint.delete("/project/<int:project_id>/schedules/<int:schedule_id>")
@login_required
def schedules_delete(project_id: int, schedule_id: int) -> Response:
    access = project_scope(project_id)
    schedule = schedules.get_schedule(access, schedule_id)
    return delete_and_return(
        lambda: schedules.delete_schedule(access, schedule_id),
        f"Schedule {schedule.name or schedule.id} removed",
        _index_url(project_id),
    )


def _index_url(project_id: int) -> str:
    return url_for("web.schedules_index", project_id=project_id)


def _data(form: ScheduleForm, schedule: Schedule | None) -> dict:
    data = {
        "name": form.name.data,
        "template_id": id_or_none(form.template_id.data),
        "type": form.type.data,
        "cron_format": form.cron_format.data,
        "run_at": form.run_at.data or None,
        "repository_id": id_or_none(form.repository_id.data),
        "active": form.active.data,
    }
    if schedule is not None and schedule.task_params:
        # Task parameters are set through the API; saving the form keeps them.
        data["task_params"] = schedules.task_params(schedule)
    return data


def _page(access: ProjectAccess, form: ScheduleForm, schedule: Schedule | None) -> Response:
    form.template_id.choices = choices(
        templates.list_templates(access), lambda t: t.name, "Choose a template…"
    )
    form.repository_id.choices = choices(
        repositories.list_repositories(access), lambda r: r.name, "Any time (no commit check)"
    )
    return form_page(
        access,
        MANAGE_RESOURCES,
        "projects/resource_form.html",
        form,
        page_title=f"Edit schedule {schedule.name or schedule.id}" if schedule else "New schedule",
        submit_label="Save" if schedule else "Add schedule",
        form_id="schedule-form",
        cancel_url=_index_url(access.project_id),
    )
