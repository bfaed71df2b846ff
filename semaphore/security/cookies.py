"""The session cookie: signed, HttpOnly, SameSite=Lax, and Secure whenever HTTPS is in use."""

from __future__ import annotations

from flask import Flask, Request, Response, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin


class SessionCookies(SecureCookieSessionInterface):
    """Marks the cookie Secure when web_host is https, or when this request came over TLS.

    The second case covers a server reached over https without web_host being set.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        return has_request_context() and request.is_secure

    # API clients with a Bearer token send no cookie and never touch the session: for them
    # these two skip building the signer and reading every cookie setting (a tenth of a small
    # request's time), with the same outcome as Flask's own code.
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = SessionCookies()
