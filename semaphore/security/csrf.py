"""CSRF defences for the JSON API (HTML forms are covered by Flask-WTF's CSRFProtect).

The API reads any body as JSON whatever its Content-Type, as the original does, so another
site's plain form could post to it with the user's cookie. Two rules stop that:

* a write whose caller is identified by the session cookie must carry the session's CSRF
  token in `X-CSRF-Token` (our pages send it; the `semaphore_csrf` cookie, readable by the
  page but by no other site, holds a copy for API clients that keep cookies);
* a write that a browser marks as coming from another origin is refused outright, login
  included, so nobody can log a victim into the attacker's account.

Bearer-token requests carry no ambient credential and are not checked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError as TokenError

from semaphore.errors import PermissionDenied

CSRF_HEADERS = ("X-CSRF-Token", "X-CSRFToken")
CSRF_COOKIE = "semaphore_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REISSUE = "_semaphore_csrf_reissue"
_SESSION_KEY = "sid"


def init_app(app: Flask) -> None:
    app.after_request(_keep_cookie)


def uses_bearer_token() -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def check_api_write(token_required: bool = True) -> None:
    """Refuse a cross-site or token-less cookie-authenticated write to the API.

    Raises:
        PermissionDenied: the request may have been forged by another site.
    """
    if request.method not in UNSAFE_METHODS or uses_bearer_token():
        return
    if _from_another_origin():
        raise PermissionDenied("Cross-site request refused")
    if not token_required or not current_user.is_authenticated:
        # No signed-in cookie session: nothing for a forged request to borrow.
        return
    supplied = next((request.headers[h] for h in CSRF_HEADERS if request.headers.get(h)), "")
    try:
        validate_csrf(supplied)
    except TokenError:
        raise PermissionDenied(
            "CSRF token missing or invalid: send the semaphore_csrf cookie's value "
            "in the X-CSRF-Token header, or use a bearer token"
        ) from None


def reissue_token() -> None:
    """Give the session a fresh token (after login, when the session changes)."""
    g.pop("csrf_token", None)
    g.setdefault(_REISSUE, True)


def _from_another_origin() -> bool:
    # Browsers send Origin (and Sec-Fetch-Site) on every cross-origin write; scripts send
    # neither, so this costs API clients nothing.
    if request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("Origin")
    if not origin:
        return False
    return urlsplit(origin).netloc.lower() != request.host.lower()


def _keep_cookie(response: Response) -> Response:
    signed_in = isinstance(session.get(_SESSION_KEY), int) and not uses_bearer_token()
    if not signed_in:
        if request.cookies.get(CSRF_COOKIE):
            response.delete_cookie(CSRF_COOKIE, path="/")
        return response
    if g.get(_REISSUE) or not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            generate_csrf(),
            path="/",
            httponly=False,
            samesite="Strict",
            secure=current_app.session_interface.get_cookie_secure(current_app),
        )
    return response
