"""Error pages for the HTML side; form validation errors are shown in the forms themselves."""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RoutingException

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
    if isinstance(exc, MethodNotAllowed) and request.method in ("GET", "HEAD"):
        page = page_of_action(request.path)
        if page is not None:
            return redirect(request.script_root + page, code=303)
    if isinstance(exc, CSRFError):
        return error_page(
            400,
            "The form has expired or was not sent from this site. "
            "Go back, reload the page and try again.",
        )
    return error_page(exc.code or 500, exc.description or exc.name)


def page_of_action(path: str) -> str | None:
    """The page a POST-only (or DELETE-only) page URL belongs to: its nearest ancestor path
    that answers GET, e.g. /account/tokens -> /account, /project/1/tasks/5/stop ->
    /project/1/tasks/5. None when the path is not one of the pages' actions.

    A page shown as the answer to a POST keeps the POST's URL in the address bar (an hx-boost
    form pushes it); reloading it asks with GET, which this turns into the page instead of
    "405 · Not allowed".
    """
    adapter = current_app.url_map.bind("localhost")
    if not any(_web_endpoint(adapter, path, method) for method in ("POST", "DELETE")):
        return None
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/".join(parts) or "/"
        if _web_endpoint(adapter, candidate, "GET"):
            return candidate
    return None


def _web_endpoint(adapter, path: str, method: str) -> bool:
    try:
        endpoint, _ = adapter.match(path, method=method)
    except (HTTPException, RoutingException):
        return False
    return str(endpoint).startswith("web.")
