"""The /api blueprint and the login rule every route module builds on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, request
from flask_login import current_user

from semaphore.errors import NotAuthenticated
from semaphore.identity import waiting_for_second_factor
from semaphore.security import csrf

api_blueprint = Blueprint("api", __name__, url_prefix="/api")

_PUBLIC_ATTR = "_semaphore_public"


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as reachable without logging in."""
    setattr(view, _PUBLIC_ATTR, True)
    return view


@api_blueprint.before_request
def _require_login() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not getattr(view, _PUBLIC_ATTR, False):
        if not current_user.is_authenticated:
            # The original's answer while a password login waits for its TOTP code.
            reason = "TOTP_REQUIRED" if waiting_for_second_factor() else "Not authenticated"
            raise NotAuthenticated(reason)
    csrf.check_api_write()
