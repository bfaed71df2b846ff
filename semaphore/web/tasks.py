"""The task pages: a template's page and run dialog, the project's task history, a task's page
with its output, and the stop / confirm / reject / re-run / delete buttons.

The task page's output comes from web/task_output.py; its script follows the task over the
WebSocket and reloads the details and buttons (tasks_state) when the status changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Response, flash, request, url_for
from flask_login import login_required

from semaphore.extensions import db
from semaphore.models import FINISHED_STATUSES, Task, Template, isoformat, utcnow
from semaphore.services import inventories, projects, tasks, templates
from semaphore.services.permissions import RUN_TASKS, ProjectAccess
from semaphore.services.tasks import builds, submissions
from semaphore.services.tasks import origins as task_origins
from semaphore.services.validation import parse_json_text
from semaphore.web import task_history
from semaphore.web.blueprint import web_blueprint
from semaphore.web.htmx import redirect_to, render
from semaphore.web.project_resources import (
    FORM_ERRORS,
    choices,
    delete_and_return,
    edit_form,
    form_page,
    project_scope,
    submit_form,
)
from semaphore.web.runners import task_runner
from semaphore.web.task_forms import (
    RunForm,
    flag_fields,
    initial_values,
    list_fields,
    run_data,
    run_form_class,
    survey_fields,
)
from semaphore.web.task_output import output_context
from semaphore.web.templates import APP_TITLES

STATUS_TITLES = {
    "waiting": "Waiting",
    "starting": "Starting",
    "waiting_confirmation": "Waiting confirmation",
    "confirmed": "Confirmed",
    "running": "Running",
    "stopping": "Stopping",
    "stopped": "Stopped",
    "success": "Success",
    "error": "Failed",
    "rejected": "Rejected",
}
FLAG_NAMES = {"debug": "debug", "dry_run": "dry run", "diff": "diff"}


def _helpers() -> dict:
    """What every task template uses to show a task."""
    return {
        "status_titles": STATUS_TITLES,
        "duration": duration,
        "app_titles": APP_TITLES,
        "task_flags": task_flags,
        "pretty_json": pretty_json,
        "isoformat": isoformat,
    }


def task_flags(task: Task) -> list[str]:
    """The switches the task ran with: ansible's, then the 2.16 params (terraform's, tags…)."""
    flags = [title for name, title in FLAG_NAMES.items() if getattr(task, name)]
    params = task.params if isinstance(task.params, dict) else {}
    for name, value in params.items():
        if value is True:
            flags.append(name.replace("_", " "))
        elif isinstance(value, list) and value:
            flags.append(f"{name.replace('_', ' ')}: {', '.join(map(str, value))}")
    return flags


def pretty_json(text: str | None) -> str:
    """JSON text indented for reading (as it is when it does not parse)."""
    value = _json(text)
    if value is None:
        return text or ""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _json(text: str | None):
    return parse_json_text(text, default=None) if text else None


def duration(task: Task, now: datetime | None = None) -> str:
    """How long the task ran (or has been running), as "1h 02m", "3m 05s" or "12s"."""
    if task.start is None:
        return "—"
    return elapsed(task.start, task.end or now or utcnow())


def elapsed(since: datetime, until: datetime) -> str:
    """The time between two moments, as "1h 02m", "3m 05s" or "12s"."""
    seconds = max(int((until - since) / timedelta(seconds=1)), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


def _list_context(
    access: ProjectAccess, asked: task_history.ListArgs, template_id: int | None = None
) -> dict:
    """One page of the task list (the history's, or a template's), as its partials draw it."""
    if template_id is None:
        return task_history.list_context(
            access, asked, "web.tasks_index", {"project_id": access.project_id}
        )
    return task_history.list_context(
        access,
        asked,
        "web.templates_show",
        {"project_id": access.project_id, "template_id": template_id},
        template_id,
    )


# The task history and a template's page -----------------------------------------------------


@web_blueprint.get("/project/<int:project_id>/history")
@login_required
def tasks_index(project_id: int) -> Response:
    access = project_scope(project_id)
    asked = task_history.read_args(request.args)
    unchanged = task_history.no_change(access, asked)
    if unchanged is not None:
        return unchanged
    return render(
        "projects/tasks/index.html",
        asked.partial,
        status=asked.http_status,
        access=access,
        show_template=True,
        **_list_context(access, asked),
        **_helpers(),
    )


@web_blueprint.get("/project/<int:project_id>/templates/<int:template_id>")
@login_required
def templates_show(project_id: int, template_id: int) -> Response:
    access = project_scope(project_id)
    template = templates.get_template(access, template_id)
    asked = task_history.read_args(request.args, with_template=False)
    unchanged = task_history.no_change(access, asked)
    if unchanged is not None:
        return unchanged
    return render(
        "projects/tasks/template.html",
        asked.partial,
        status=asked.http_status,
        access=access,
        template=template,
        survey=templates.survey_vars(template),
        show_template=False,
        **_list_context(access, asked, template_id),
        **_helpers(),
    )


# The run dialog -------------------------------------------------------------------------------


@web_blueprint.route(
    "/project/<int:project_id>/templates/<int:template_id>/run", methods=["GET", "POST"]
)
@login_required
def templates_run(project_id: int, template_id: int) -> Response:
    access = project_scope(project_id)
    access.require(RUN_TASKS)
    template = templates.get_template(access, template_id)
    earlier = _earlier_task(access, template)
    form = edit_form(run_form_class(template, earlier), initial_values(template, earlier))
    done = submit_form(
        form,
        lambda: submissions.create_once(
            access, run_data(form, template, earlier), form.submission.data
        ),
        lambda created: (
            f"Task #{created[0].id} of {template.name} queued"
            if created[1]
            else f"Task #{created[0].id} was queued by this dialog already"
        ),
        lambda created: _task_url(project_id, created[0].id),
    )
    return done or _run_page(access, template, form, earlier)


def _earlier_task(access: ProjectAccess, template: Template) -> Task | None:
    """The task named by ?task=, whose values the dialog starts from (a re-run)."""
    task_id = request.args.get("task", type=int)
    if task_id is None:
        return None
    task = tasks.get_task(access, task_id)
    return task if task.template_id == template.id else None


def _run_page(
    access: ProjectAccess, template: Template, form: RunForm, earlier: Task | None = None
) -> Response:
    # The dialog's first load is the whole <dialog>; a refused submit swaps only the form.
    partial = "projects/tasks/_run_form.html"
    if request.method == "GET":
        partial = "projects/tasks/_run_dialog.html"
    _run_choices(access, template, form)
    form_url = url_for("web.templates_run", project_id=access.project_id, template_id=template.id)
    if request.query_string:
        form_url += "?" + request.query_string.decode()
    response = form_page(
        access,
        RUN_TASKS,
        "projects/tasks/run.html",
        form,
        partial=partial,
        template=template,
        page_title=f"Run {template.name}",
        form_url=form_url,
        earlier=earlier,
        survey=survey_fields(form),
        flags=flag_fields(form),
        lists=list_fields(form),
        cancel_url=url_for(
            "web.templates_show", project_id=access.project_id, template_id=template.id
        ),
        app_titles=APP_TITLES,
    )
    return response


def _run_choices(access: ProjectAccess, template: Template, form: RunForm) -> None:
    """The options of the dialog's selects: inventories of the template's kind, builds."""
    if "inventory_id" in form:
        rows = inventories.list_inventories(access)
        own = next((i.name for i in rows if i.id == template.inventory_id), "none")
        usable = inventories.usable_by(rows, template.app)
        form.inventory_id.choices = choices(usable, lambda i: i.name, f"The template's ({own})")
    if "build_task_id" in form:
        offered = list(builds.successful_builds(template))
        form.build_task_id.choices = choices(offered, _build_label, "None")
        if request.method == "GET" and not form.build_task_id.data and offered:
            form.build_task_id.data = str(offered[0].id)  # the newest, as the original's


def _build_label(task: Task) -> str:
    label = f"{task.version or '#' + str(task.id)}"
    return f"{label} — {task.message}" if task.message else label


# A task's page, its output, its buttons ------------------------------------------------------


def _task_url(project_id: int, task_id: int) -> str:
    return url_for("web.tasks_show", project_id=project_id, task_id=task_id)


def _user_name(access: ProjectAccess, task: Task) -> str | None:
    """The name of who started the task: a member, else (an admin, a former member) as the
    task list shows it."""
    if task.user_id is None:
        return None
    for user, _ in projects.list_members(access):
        if user.id == task.user_id:
            return user.name
    for row, _, name in tasks.list_tasks(access, template_id=task.template_id):
        if row.id == task.id:
            return name
    return None


def _task_context(access: ProjectAccess, task: Task) -> dict:
    template = templates.get_template(access, task.template_id)
    variables, received = tasks.run_variables(task)
    incoming_version, deploy_tasks = builds.build_links(task)
    return {
        "access": access,
        "task": task,
        "template": template,
        "incoming_version": incoming_version,
        "deploy_tasks": deploy_tasks,
        "run_variables": json.dumps(variables, indent=2, ensure_ascii=False) if variables else "",
        "variables_received": received,
        "user_name": _user_name(access, task),
        "origins": task_origins.origins([task]),
        "runner": task_runner(access, task.runner_id),
        "waiting_reason": tasks.waiting_reasons([task]).get(task.id),
        "finished": task.status in FINISHED_STATUSES,
        "page_title": f"Task #{task.id}",
        **_helpers(),
    }


@web_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>")
@login_required
def tasks_show(project_id: int, task_id: int) -> Response:
    access = project_scope(project_id)
    task = tasks.get_task(access, task_id)
    # The output is read after the status: once that is final, every line is stored.
    return render(
        "projects/tasks/show.html",
        **_task_context(access, task),
        **output_context(access, task_id),
    )


@web_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>/state")
@login_required
def tasks_state(project_id: int, task_id: int) -> Response:
    """The details and (out of band) the buttons, for the page's script to swap in when
    the task's status changes."""
    access = project_scope(project_id)
    task = tasks.get_task(access, task_id)
    return render("projects/tasks/_state.html", **_task_context(access, task))


def _back_to_task(
    project_id: int, task_id: int, action: Callable[[], Task], success: Callable[[Task], str]
) -> Response:
    """Call the service; its refusal is flashed. Back to the task page either way."""
    try:
        task = action()
    except FORM_ERRORS as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(success(task), "success")
    return redirect_to(_task_url(project_id, task_id))


def _stopped(task: Task) -> str:
    if task.status == "stopping":
        return f"Task #{task.id} is stopping"
    return f"Task #{task.id} {STATUS_TITLES.get(task.status, task.status).lower()}"


@web_blueprint.post("/project/<int:project_id>/tasks/<int:task_id>/stop")
@login_required
def tasks_stop(project_id: int, task_id: int) -> Response:
    access = project_scope(project_id)
    force = request.form.get("force") == "1"
    return _back_to_task(
        project_id,
        task_id,
        lambda: tasks.stop_task(access, task_id, {"force": force}),
        _stopped,
    )


@web_blueprint.post("/project/<int:project_id>/tasks/<int:task_id>/confirm")
@login_required
def tasks_confirm(project_id: int, task_id: int) -> Response:
    access = project_scope(project_id)
    return _back_to_task(
        project_id,
        task_id,
        lambda: tasks.confirm_task(access, task_id),
        lambda task: f"Task #{task.id} confirmed: it applies the plan",
    )


@web_blueprint.post("/project/<int:project_id>/tasks/<int:task_id>/reject")
@login_required
def tasks_reject(project_id: int, task_id: int) -> Response:
    # The original has no reject: rejecting a plan is a forced stop there too.
    access = project_scope(project_id)
    return _back_to_task(
        project_id,
        task_id,
        lambda: tasks.stop_task(access, task_id, {"force": True}),
        lambda task: f"Task #{task.id} rejected",
    )


@web_blueprint.delete("/project/<int:project_id>/tasks/<int:task_id>")
@login_required
def tasks_delete(project_id: int, task_id: int) -> Response:
    access = project_scope(project_id)
    tasks.get_task(access, task_id)
    return delete_and_return(
        lambda: tasks.delete_task(access, task_id),
        f"Task #{task_id} deleted",
        url_for("web.tasks_index", project_id=project_id),
    )
