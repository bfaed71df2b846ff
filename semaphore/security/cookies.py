"""The session cookie: signed, HttpOnly, SameSite=Lax, and Secure whenever HTTPS is in use."""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface


class SessionCookies(SecureCookieSessionInterface):
    """Marks the cookie Secure when web_host is https, or when this request came over TLS.

    The second case covers a server reached over https without web_host being set.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        return has_request_context() and request.is_secure


def init_app(app: Flask) -> None:
    app.session_interface = SessionCookies()
