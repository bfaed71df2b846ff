"""The runner pages: the admins' global runners (/runners) and a project's own
(/project/<id>/runners, which also lists, read-only, the global runners serving the project).

Both call the API's service functions through a RunnerOwner, so the rules (who may see and
change what, the fields' checks) are the service's; each view is registered under both URLs.
A runner's token and a registration token are shown once, in the answer to the POST that made
them (as the account page shows a new API token): we keep only their digests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Response, flash, request, url_for
from flask_login import current_user, login_required

from semaphore.config import current_config
from semaphore.errors import NotFound
from semaphore.extensions import db
from semaphore.models import Runner, utcnow
from semaphore.services import runners
from semaphore.services.permissions import ProjectAccess
from semaphore.services.runners import RunnerOwner
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import RunnerForm, attach_error
from semaphore.web.htmx import is_htmx, redirect_to, render
from semaphore.web.project_resources import (
    FORM_ERRORS,
    delete_and_return,
    edit_form,
    has_errors,
    number,
    project_scope,
    submit_form,
)
from semaphore.web.schedules import absolute_time, relative_time

# (URL prefix, endpoint prefix): the global runners, then a project's.
SCOPES = (("", "runners"), ("/project/<int:project_id>", "project_runners"))


def runner_route(rule: str, name: str, methods: tuple[str, ...] = ("GET",)) -> Callable:
    """Register the view as `web.runners_<name>` at `rule` and as `web.project_runners_<name>`
    at /project/<id>`rule`; it gets project_id None for the global runners."""

    def register(view: Callable) -> Callable:
        view = login_required(view)
        for prefix, endpoint in SCOPES:
            web_blueprint.add_url_rule(
                prefix + rule, f"{endpoint}_{name}", view, methods=list(methods)
            )
        return view

    return register


@dataclass(frozen=True)
class Scope:
    """Whose runners a page shows, and the page's URLs."""

    owner: RunnerOwner

    @property
    def access(self) -> ProjectAccess | None:
        return self.owner.access

    @property
    def can_change(self) -> bool:
        return self.access is None or self.access.can_manage_resources

    def url(self, name: str, **values) -> str:
        if self.access is None:
            return url_for(f"web.runners_{name}", **values)
        return url_for(f"web.project_runners_{name}", project_id=self.access.project_id, **values)


def _scope(project_id: int | None) -> Scope:
    """The global runners (admins only: PermissionDenied) or a member's project's."""
    if project_id is None:
        return Scope(runners.global_owner(current_user))
    return Scope(runners.project_owner(project_scope(project_id)))


def _changing(project_id: int | None) -> Scope:
    """The scope, for a user who may change its runners (else PermissionDenied)."""
    scope = _scope(project_id)
    scope.owner.require_change()
    return scope


# A runner as the tables show it ----------------------------------------------------------------


@dataclass(frozen=True)
class RunnerRow:
    runner: Runner
    label: str  # its name, or "#<id>"
    online: bool
    last_seen: str  # "12 s ago", or "never"
    last_seen_at: str  # the UTC time, or ""
    running: int  # unfinished tasks it holds


def runner_rows(rows: list[Runner]) -> list[RunnerRow]:
    """The runners with their online state and load (the service's rule and counts)."""
    now, states = utcnow(), runners.runner_states(rows)
    return [
        RunnerRow(
            runner,
            runner_label(runner),
            states[runner.id].online,
            _ago(runner.touched, now),
            absolute_time(runner.touched, now) if runner.touched else "",
            states[runner.id].running,
        )
        for runner in rows
    ]


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    return relative_time(now - when).removeprefix("in ") + " ago"


def runner_label(runner: Runner) -> str:
    return runner.name or f"#{runner.id}"


def task_runner(access: ProjectAccess, runner_id: int | None) -> dict | None:
    """The runner a task was handed to, as the task page shows it: its name, as the project's
    runner list shows it (an admin also sees the global ones it leaves out), and a link to its
    edit page for those who may change it."""
    if runner_id is None:
        return None
    shown = {runner.id: runner for runner in runners.list_runners(runners.project_owner(access))}
    runner = shown.get(runner_id)
    if runner is None and current_user.admin:
        try:
            runner = runners.get_runner(runners.global_owner(current_user), runner_id)
        except NotFound:
            runner = None
    if runner is None:
        return {"name": f"Runner #{runner_id}", "url": None}
    url = None
    if runner.project_id is None and current_user.admin:
        url = url_for("web.runners_edit", runner_id=runner.id)
    elif runner.project_id is not None and access.can_manage_resources:
        url = url_for("web.project_runners_edit", project_id=access.project_id, runner_id=runner.id)
    return {"name": runner_label(runner), "url": url}


# The pages --------------------------------------------------------------------------------------


@runner_route("/runners", "index")
def runners_index(project_id: int | None = None) -> Response:
    scope = _scope(project_id)
    rows = runner_rows(runners.list_runners(scope.owner))
    own = [row for row in rows if row.runner.project_id == scope.owner.project_id]
    serving = [row for row in rows if row.runner.project_id != scope.owner.project_id]
    return render("runners/index.html", scope=scope, access=scope.access, rows=own, serving=serving)


@runner_route("/runners/new", "new", ("GET", "POST"))
def runners_new(project_id: int | None = None) -> Response:
    scope = _changing(project_id)
    form = edit_form(RunnerForm, {"active": True, "registered": True, "max_parallel_tasks": "0"})
    if form.validate_on_submit():
        try:
            runner, token = runners.create_runner(scope.owner, _data(form))
        except FORM_ERRORS as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            if token:
                return _token_page(scope, runner, token, registration=False)
            flash(f"Runner {runner_label(runner)} added: give it a registration token", "success")
            return redirect_to(scope.url("index"))
    return _form_page(scope, form, None)


@runner_route("/runners/<int:runner_id>/edit", "edit", ("GET", "POST"))
def runners_edit(runner_id: int, project_id: int | None = None) -> Response:
    scope = _changing(project_id)
    runner = runners.get_runner(scope.owner, runner_id)
    form = edit_form(RunnerForm, _initial(runner))
    del form.registered
    # The form does not show is_default: it keeps its value.
    done = submit_form(
        form,
        lambda: runners.update_runner(
            scope.owner, runner_id, {**_data(form), "is_default": runner.is_default}
        ),
        lambda saved: f"Runner {runner_label(saved)} saved",
        scope.url("index"),
    )
    return done or _form_page(scope, form, runner)


@runner_route("/runners/<int:runner_id>", "delete", ("DELETE",))
def runners_delete(runner_id: int, project_id: int | None = None) -> Response:
    scope = _changing(project_id)
    runner = runners.get_runner(scope.owner, runner_id)
    return delete_and_return(
        lambda: runners.delete_runner(scope.owner, runner_id),
        f"Runner {runner_label(runner)} removed",
        scope.url("index"),
    )


@runner_route("/runners/<int:runner_id>/active", "active", ("POST",))
def runners_active(runner_id: int, project_id: int | None = None) -> Response:
    """The row's switch: htmx swaps the row it answers; without JavaScript, back to the list."""
    scope = _scope(project_id)
    active = request.form.get("active") == "true"
    runner = runners.set_runner_active(scope.owner, runner_id, {"active": active})
    if is_htmx():
        return render("runners/_row.html", scope=scope, row=runner_rows([runner])[0])
    state = "active" if runner.active else "inactive"
    flash(f"Runner {runner_label(runner)} is {state}", "success")
    return redirect_to(scope.url("index"))


@runner_route("/runners/<int:runner_id>/registration-token", "registration_token", ("POST",))
def runners_registration_token(runner_id: int, project_id: int | None = None) -> Response:
    scope = _scope(project_id)
    try:
        runner, token = runners.new_registration_token(scope.owner, runner_id)
    except FORM_ERRORS as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect_to(scope.url("index"))
    return _token_page(scope, runner, token, registration=True)


# Forms and the token page -----------------------------------------------------------------------


def split_tags(text: str | None) -> list[str]:
    """Tags typed as one text, separated by commas or spaces."""
    return [tag for tag in re.split(r"[\s,]+", text or "") if tag]


def _initial(runner: Runner) -> dict:
    return {
        "name": runner.name,
        "tags": " ".join(runner.tags or []),
        "max_parallel_tasks": str(runner.max_parallel_tasks),
        "webhook": runner.webhook,
        "active": runner.active,
    }


def _data(form: RunnerForm) -> dict:
    """The form as the API's runner body."""
    data = {
        "name": form.name.data or "",
        "tags": split_tags(form.tags.data),
        "max_parallel_tasks": number(form.max_parallel_tasks.data, 0),
        "webhook": form.webhook.data or "",
        "active": form.active.data,
    }
    if "registered" in form:
        data["registered"] = form.registered.data
    return data


def _form_page(scope: Scope, form: RunnerForm, runner: Runner | None) -> Response:
    return render(
        "projects/resource_form.html",
        status=422 if has_errors(form) else 200,
        access=scope.access,
        form=form,
        page_title=f"Edit runner {runner_label(runner)}" if runner else "New runner",
        submit_label="Save" if runner else "Add runner",
        form_id="runner-form",
        cancel_url=scope.url("index"),
    )


def _token_page(scope: Scope, runner: Runner, token: str, registration: bool) -> Response:
    """The one answer that shows the token. It is not kept: the address shown becomes the
    list's (htmx), so a reload shows the list, and no cache keeps the page."""
    response = render(
        "runners/token.html",
        scope=scope,
        access=scope.access,
        runner=runner,
        token=token,
        registration=registration,
        server_url=current_config().web_host or request.host_url.rstrip("/"),
        page_title=f"Runner {runner_label(runner)}",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["HX-Push-Url"] = scope.url("index")
    return response
