"""The schedules pages: list, add, edit, remove."""

from __future__ import annotations

import json

from flask import Response, url_for
from flask_login import login_required

from semaphore.models import Schedule, isoformat
from semaphore.services import repositories, schedules, templates
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.web import web_blueprint
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
    return render(
        "projects/schedules/index.html", access=access, schedules=schedules.list_schedules(access)
    )


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
        data["task_params"] = json.loads(schedule.task_params)
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
