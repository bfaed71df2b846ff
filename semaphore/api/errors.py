"""Every API error is JSON: {"error": "..."} with the status of the SemaphoreError raised."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from semaphore.errors import RateLimited, SemaphoreError
from semaphore.extensions import db


def error_response(message: str, status: int, **extra: object) -> Response:
    """A JSON error body with the given status."""
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def handle_semaphore_error(exc: SemaphoreError) -> Response:
    """The JSON answer for an error a service raised."""
    db.session.rollback()
    response = error_response(exc.message, exc.status, **getattr(exc, "extra", {}))
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def is_api_request() -> bool:
    """True for requests under /api (routing may have failed, so the blueprint is unknown)."""
    return request.path == "/api" or request.path.startswith("/api/")


def handle_http_error(exc: HTTPException) -> Response:
    """JSON for werkzeug's errors on API paths (404, 405, 413...)."""
    db.session.rollback()
    return error_response(exc.description or exc.name, exc.code or 500)


def log_unexpected(exc: Exception) -> None:
    """A bug: roll back whatever the request half-wrote, and log it with its traceback."""
    db.session.rollback()
    current_app.logger.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
