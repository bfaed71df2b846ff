"""The HTML pages (Jinja2 + HTMX), one module per area, all on the `web` blueprint."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from semaphore.web.blueprint import web_blueprint


def register_web(app: Flask) -> None:
    """Attach the pages, their template globals and their error pages to the app."""
    from semaphore.web import (  # noqa: F401
        account,
        active_tasks,
        audit,
        auth,
        dashboard,
        environments,
        errors,
        integrations,
        inventories,
        keys,
        project_dashboard,
        projects,
        repositories,
        runners,
        schedules,
        task_output,
        tasks,
        template_list,
        templates,
        users,
        views,
    )

    app.register_blueprint(web_blueprint)
    app.context_processor(_layout_context)


def _layout_context() -> dict:
    from semaphore.services import projects

    sidebar_projects = projects.list_projects(current_user) if current_user.is_authenticated else []
    return {
        "sidebar_projects": sidebar_projects,
        "csrf_token_value": generate_csrf,
        "color_scheme": _color_scheme,
    }


def _color_scheme() -> str:
    # Called by base.html only, so a partial costs no query; signed out pages follow the OS.
    from semaphore.services import options

    return options.color_scheme(current_user) if current_user.is_authenticated else "auto"
