"""Who is asking: a Bearer token or the `semaphore` session cookie, checked on every request."""

from __future__ import annotations

from flask import Flask, Request, current_app, request, session

from semaphore.models import User
from semaphore.security import csrf, proxies
from semaphore.services import audit
from semaphore.services.auth import api_tokens, prefetch
from semaphore.services.auth import login as auth
from semaphore.web_extensions import login_manager

SESSION_KEY = "sid"


def init_app(app: Flask) -> None:
    login_manager.request_loader(_load_user)
    # Our sessions are server-side rows that can be revoked; Flask-Login's own cookie
    # bookkeeping (and its session protection) is not used.
    login_manager.session_protection = None
    login_manager.login_view = "web.login"
    login_manager.login_message = None
    # What the sign-in read about a project serves this request only.
    app.teardown_request(prefetch.forget)
    # The audit trail records the caller's address without reading the request itself.
    app.extensions[audit.ADDRESS_FINDER] = client_ip


def _load_user(req: Request) -> User | None:
    # On a project route the sign-in also reads the project and the caller's role, for the
    # permission check to use (services/auth/prefetch.py): one round trip instead of two.
    project_id = (req.view_args or {}).get("project_id")
    if not isinstance(project_id, int):
        project_id = None
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return api_tokens.user_for_token(token, project_id)
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, int):
        return auth.user_for_session(session_id, project_id)
    return None


def client_ip() -> str:
    """The caller's address: the connection's peer, or whom it forwards for when the peer is
    one of `trusted_proxies` (X-Forwarded-For, else X-Real-IP; see security/proxies.py)."""
    trusted = proxies.networks(current_app.config["SEMAPHORE"].trusted_proxies)
    return proxies.client_address(
        request.remote_addr or "",
        request.headers.get("X-Forwarded-For"),
        request.headers.get("X-Real-IP"),
        trusted,
    )


def sign_in(user: User, via: str = "password") -> None:
    """Start a server-side session and put its id in the signed cookie.

    `via` says how the user proved who they are: "password" (local or LDAP) or "oidc".
    """
    row = auth.start_session(user, client_ip(), request.headers.get("User-Agent", ""), via=via)
    # A new login never keeps the old session's cookie contents (or its form token).
    session.clear()
    session[SESSION_KEY] = row.id
    csrf.reissue_token()


def current_session_id() -> int | None:
    """The server-side session named by the cookie (None for bearer tokens and visitors)."""
    if csrf.uses_bearer_token():
        return None
    session_id = session.get(SESSION_KEY)
    return session_id if isinstance(session_id, int) else None


def waiting_for_second_factor() -> bool:
    """Whether the cookie names a session that passed the password and waits for a code."""
    session_id = current_session_id()
    return session_id is not None and auth.is_waiting_for_second_factor(session_id)


def second_factor_accepted() -> None:
    """The pending session is now a full one: its pages get a fresh form token."""
    csrf.reissue_token()


def sign_out() -> None:
    """Expire the server-side session and clear the cookie."""
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, int):
        auth.end_session(session_id)
    session.clear()
