"""Error pages for the HTML side; form validation errors are shown in the forms themselves."""

from __future__ import annotations

from flask import Response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from semaphore.errors import SemaphoreError
from semaphore.extensions import db

TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    429: "Too many requests",
    503: "Service unavailable",
}


def error_page(status: int, message: str) -> Response:
    """The error page with a status and a human message."""
    body = render_template(
        "errors/error.html", status=status, title=TITLES.get(status, "Error"), message=message
    )
    return Response(body, status=status)


def handle_semaphore_error(exc: SemaphoreError) -> Response:
    # Whatever the refused request half-wrote must not be flushed by a later commit.
    db.session.rollback()
    return error_page(exc.status, exc.message)


def handle_http_error(exc: HTTPException) -> Response:
    if isinstance(exc, CSRFError):
        return error_page(
            400,
            "The form has expired or was not sent from this site. "
            "Go back, reload the page and try again.",
        )
    return error_page(exc.code or 500, exc.description or exc.name)
