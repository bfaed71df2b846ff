"""Helpers for answering HTMX requests and plain page loads from the same views."""

from __future__ import annotations

from flask import Response, make_response, redirect, render_template, request


def is_htmx() -> bool:
    """A swap request from htmx (not a history restore, which needs the whole page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


def render(page: str, partial: str | None = None, status: int = 200, **context) -> Response:
    """The partial for a targeted htmx swap, else the whole page; varies on HX-Request."""
    targeted = partial is not None and is_htmx() and not request.headers.get("HX-Boosted")
    response = make_response(render_template(partial if targeted else page, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


def redirect_to(url: str) -> Response:
    """303 for a plain form post; HX-Redirect for an htmx request that is not boosted."""
    if is_htmx() and not request.headers.get("HX-Boosted"):
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)
