"""Signing in through an OpenID Connect provider: /api/auth/oidc/<id>/login and its callback.

Browsers, not scripts, follow these: every failure other than an unknown provider ends on the
login page with a flashed message, and no session is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, flash, redirect, request, session, url_for

from semaphore.api.blueprint import api_blueprint, public
from semaphore.api.openapi import documented
from semaphore.errors import NotFound, SemaphoreError
from semaphore.identity import sign_in
from semaphore.security.redirects import same_site_path

if TYPE_CHECKING:
    from semaphore.services.auth import oidc_login

# Logins begun but not finished, by state. A few, so that two tabs can sign in at once.
PENDING_KEY = "oidc_pending"
MAX_PENDING = 4
TAGS = ("authentication",)


@api_blueprint.get("/auth/oidc/<provider_id>/login")
@documented(answers={302: None}, tags=TAGS)
@public
def oidc_login_start(provider_id: str) -> Response:
    return_path = same_site_path(request.args.get("redirect"))
    callback = url_for("api.oidc_login_finish", provider_id=provider_id, _external=True)
    try:
        start = _oidc().begin_login(provider_id, callback, return_path)
    except NotFound:
        raise
    except SemaphoreError as exc:
        return _back_to_login(exc.message, return_path)
    _remember(start.pending)
    return redirect(start.url, code=302)


@api_blueprint.get("/auth/oidc/<provider_id>/redirect")
@documented(answers={302: None}, tags=TAGS)
@public
def oidc_login_finish(provider_id: str) -> Response:
    return _finish(provider_id, "")


@api_blueprint.get("/auth/oidc/<provider_id>/redirect/<path:redirect_path>")
@documented(answers={302: None}, tags=TAGS, addition=True)
@public
def oidc_login_finish_at(provider_id: str, redirect_path: str) -> Response:
    """The original's callback form with the return path in the URL (not in its contract)."""
    return _finish(provider_id, redirect_path)


def _finish(provider_id: str, redirect_path: str) -> Response:
    # Taken out whatever happens: a state is good for one try only.
    pending = _take(request.args.get("state"))
    try:
        user = _oidc().finish_login(provider_id, pending, request.args)
    except NotFound:
        raise
    except SemaphoreError as exc:
        return _back_to_login(exc.message, pending.return_path if pending else "")
    sign_in(user, via="oidc")
    # The return path asked for at the start wins; the original's /redirect/<path> form too.
    target = (pending.return_path if pending else "") or same_site_path(f"/{redirect_path}")
    return redirect(_location(target or "/"), code=302)


def _remember(pending: oidc_login.PendingLogin) -> None:
    stored: dict[str, Any] = dict(session.get(PENDING_KEY) or {})
    stored[pending.state] = pending.to_dict()
    # Oldest first (dicts keep insertion order): drop the logins nobody came back from.
    while len(stored) > MAX_PENDING:
        stored.pop(next(iter(stored)))
    session[PENDING_KEY] = stored


def _take(state: str | None) -> oidc_login.PendingLogin | None:
    stored = session.get(PENDING_KEY)
    if not isinstance(stored, dict) or not state:
        return None
    stored = dict(stored)
    data = stored.pop(state, None)
    session[PENDING_KEY] = stored
    return _oidc().PendingLogin.from_dict(data) if isinstance(data, dict) else None


def _location(path: str) -> str:
    # Paths are the app's own; behind a prefix (web_host with a path) they get it in front,
    # unless they already carry it (the login page's `next` does).
    root = request.script_root
    if root and not (path == root or path.startswith(f"{root}/")):
        return f"{root}{path}"
    return path


def _back_to_login(message: str, return_path: str) -> Response:
    flash(message, "error")
    if return_path:
        return redirect(url_for("web.login", next=_location(return_path)), code=302)
    return redirect(url_for("web.login"), code=302)


def _oidc():  # noqa: ANN202 - the module
    # Authlib and requests (about 20 MB in every web process) load at the first OIDC sign-in.
    from semaphore.services.auth import oidc_login

    return oidc_login
