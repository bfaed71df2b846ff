"""The projects dashboard: the first page after logging in."""

from __future__ import annotations

from flask import Response
from flask_login import current_user, login_required

from semaphore.services import projects, users
from semaphore.web.blueprint import web_blueprint
from semaphore.web.htmx import render


@web_blueprint.get("/")
@login_required
def dashboard() -> Response:
    return render(
        "dashboard/index.html",
        projects=projects.list_projects(current_user),
        can_create_project=users.can_create_project(current_user),
    )
