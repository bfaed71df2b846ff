"""Project pages: create a project, its settings, its team (members) and its activity."""

from __future__ import annotations

import json
import re

from flask import Response, flash, redirect, url_for
from flask_login import current_user, login_required

from semaphore.errors import Conflict, PermissionDenied, ServiceUnavailable
from semaphore.extensions import db
from semaphore.models import Project
from semaphore.services import backup, events, notification_tests, projects, users
from semaphore.services.permissions import ROLE_TITLES, ProjectAccess
from semaphore.services.tasks import retention
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import (
    MemberForm,
    MemberRoleForm,
    ProjectForm,
    ProjectSettingsForm,
    RestoreForm,
    options,
)
from semaphore.web.htmx import redirect_to, render
from semaphore.web.project_resources import (
    FORM_ERRORS,
    delete_and_return,
    edit_form,
    has_errors,
    id_or_none,
    number,
    project_nav,
    project_scope,
    submit_form,
)

ACTIVITY_LIMIT = 200
TEST_QUEUED = "Test notification queued; the result appears in the project's Activity"
TEST_QUEUE_DOWN = (
    "The notification queue (Redis) cannot be reached: no test notification was sent. "
    "Try again later."
)


@web_blueprint.route("/projects/new", methods=["GET", "POST"])
@login_required
def projects_new() -> Response:
    if not users.can_create_project(current_user):
        raise PermissionDenied("You are not allowed to create projects")
    form = ProjectForm()
    done = submit_form(
        form,
        lambda: projects.create_project(current_user, {"name": form.name.data}),
        lambda project: f"Project {project.name} created",
        lambda project: url_for("web.project_home", project_id=project.id),
    )
    return done or render("projects/new.html", form=form, status=422 if form.errors else 200)


@web_blueprint.get("/project/<int:project_id>")
@login_required
def project_home(project_id: int) -> Response:
    access = project_scope(project_id)
    return redirect(project_nav(access)[0]["url"])


@web_blueprint.route("/project/<int:project_id>/settings", methods=["GET", "POST"])
@login_required
def project_settings(project_id: int) -> Response:
    access = project_scope(project_id)
    form = edit_form(ProjectSettingsForm, _settings_values(access.project))
    done = submit_form(
        form,
        lambda: projects.update_project(access, _settings_data(form)),
        lambda saved: f"Project {saved.name} saved",
        url_for("web.project_settings", project_id=project_id),
    )
    return done or _settings_page(access, form, RestoreForm(formdata=None))


def _settings_page(
    access: ProjectAccess, form: ProjectSettingsForm, restore_form: RestoreForm
) -> Response:
    storage = retention.task_storage(access)
    status = 422 if has_errors(form) or has_errors(restore_form) else 200
    return render(
        "projects/settings.html",
        access=access,
        form=form,
        restore_form=restore_form,
        storage=storage,
        status=status,
    )


@web_blueprint.get("/project/<int:project_id>/settings/backup")
@login_required
def project_backup(project_id: int) -> Response:
    """The backup as a file to save; the same document as GET /api/project/{id}/backup."""
    access = project_scope(project_id)
    body = json.dumps(backup.export_project(access), indent=2, ensure_ascii=False)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", access.project.name).strip("-") or "project"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-backup.json"'
    return response


@web_blueprint.post("/project/<int:project_id>/settings/restore")
@login_required
def project_restore(project_id: int) -> Response:
    """A new project from an uploaded backup (as POST /api/projects/restore); a bad file is
    refused at the file field of this project's settings page."""
    access = project_scope(project_id)
    restore_form = RestoreForm()
    upload = restore_form.file.data
    done = submit_form(
        restore_form,
        lambda: backup.restore_project_file(current_user, upload.read() if upload else b""),
        lambda project: f"Project {project.name} restored from the backup",
        lambda project: url_for("web.project_home", project_id=project.id),
    )
    settings = ProjectSettingsForm(formdata=None, data=_settings_values(access.project))
    return done or _settings_page(access, settings, restore_form)


def _settings_values(project: Project) -> dict:
    days = project.task_retention_days
    return {
        "name": project.name,
        "alert": project.alert,
        "alert_chat": project.alert_chat or "",
        "max_parallel_tasks": str(project.max_parallel_tasks),
        # Empty (the server's setting) and 0 (keep all) differ here.
        "task_retention_days": "" if days is None else str(days),
    }


def _settings_data(form: ProjectSettingsForm) -> dict:
    return {
        "name": form.name.data,
        "alert": form.alert.data,
        "alert_chat": form.alert_chat.data,
        "max_parallel_tasks": number(form.max_parallel_tasks.data, 0),
        "task_retention_days": number(form.task_retention_days.data),
    }


@web_blueprint.post("/project/<int:project_id>/settings/test-notification")
@login_required
def project_test_notification(project_id: int) -> Response:
    access = project_scope(project_id)
    try:
        notification_tests.send_test_notification(access)
    except Conflict as exc:
        flash(exc.message, "error")
    except ServiceUnavailable:
        flash(TEST_QUEUE_DOWN, "warning")
    else:
        flash(TEST_QUEUED, "success")
    return redirect_to(url_for("web.project_settings", project_id=project_id))


@web_blueprint.delete("/project/<int:project_id>")
@login_required
def project_delete(project_id: int) -> Response:
    access = project_scope(project_id)
    name = access.project.name
    return delete_and_return(
        lambda: projects.delete_project(access),
        f"Project {name} deleted",
        url_for("web.dashboard"),
    )


# Team ---------------------------------------------------------------------------------------


@web_blueprint.route("/project/<int:project_id>/members", methods=["GET", "POST"])
@login_required
def project_members(project_id: int) -> Response:
    access = project_scope(project_id)
    form = MemberForm()
    done = submit_form(
        form,
        lambda: projects.add_member(
            access, {"user_id": id_or_none(form.user_id.data), "role": form.role.data}
        ),
        lambda member: "Member added",
        url_for("web.project_members", project_id=project_id),
    )
    return done or _members_page(access, form)


@web_blueprint.post("/project/<int:project_id>/members/<int:user_id>/role")
@login_required
def project_members_role(project_id: int, user_id: int) -> Response:
    access = project_scope(project_id)
    form = MemberRoleForm()
    done = submit_form(
        form,
        lambda: projects.change_member_role(access, user_id, {"role": form.role.data}),
        lambda _: "Role changed",
        url_for("web.project_members", project_id=project_id),
    )
    errors = {user_id: form.role.errors} if form.role.errors else {}
    return done or _members_page(access, MemberForm(formdata=None), role_errors=errors)


@web_blueprint.delete("/project/<int:project_id>/members/<int:user_id>")
@login_required
def project_members_remove(project_id: int, user_id: int) -> Response:
    access = project_scope(project_id)
    return delete_and_return(
        lambda: projects.remove_member(access, user_id),
        "Member removed",
        url_for("web.project_members", project_id=project_id),
    )


@web_blueprint.delete("/project/<int:project_id>/members/me")
@login_required
def project_members_leave(project_id: int) -> Response:
    access = project_scope(project_id)
    name = access.project.name
    try:
        projects.leave_project(access)
    except FORM_ERRORS as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(url_for("web.project_members", project_id=project_id))
    flash(f"You left {name}", "success")
    return redirect_to(url_for("web.dashboard"))


def _members_page(
    access: ProjectAccess, form: MemberForm, role_errors: dict | None = None
) -> Response:
    members = projects.list_members(access)
    member_ids = {user.id for user, _ in members}
    form.user_id.choices = options(
        [("", "Choose a user…")]
        + [
            (str(user.id), f"{user.name} ({user.username})")
            for user in users.list_users(current_user)
            if user.id not in member_ids
        ]
    )
    status = 422 if form.errors or role_errors else 200
    return render(
        "projects/members.html",
        access=access,
        form=form,
        members=members,
        role_titles=ROLE_TITLES,
        role_errors=role_errors or {},
        status=status,
    )


# Activity -----------------------------------------------------------------------------------


@web_blueprint.get("/project/<int:project_id>/activity")
@login_required
def project_activity(project_id: int) -> Response:
    access = project_scope(project_id)
    rows = events.list_project_events(access, limit=ACTIVITY_LIMIT)
    return render("projects/activity.html", access=access, events=rows)
