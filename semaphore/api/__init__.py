"""The JSON API under /api, compatible with the original's contract (semaphore-api-docs.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, request
from flask_login import current_user

from semaphore.errors import NotAuthenticated

api_blueprint = Blueprint("api", __name__, url_prefix="/api")

_PUBLIC_ATTR = "_semaphore_public"


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as reachable without logging in."""
    setattr(view, _PUBLIC_ATTR, True)
    return view


@api_blueprint.before_request
def _require_login() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, _PUBLIC_ATTR, False):
        return
    if not current_user.is_authenticated:
        raise NotAuthenticated("Not authenticated")


# Route modules register themselves on the blueprint when imported.
from semaphore.api import (  # noqa: E402,F401
    auth,
    backup,
    environments,
    errors,
    integrations,
    inventories,
    keys,
    projects,
    repositories,
    schedules,
    system,
    tasks,
    templates,
    users,
    views,
    ws,
)
