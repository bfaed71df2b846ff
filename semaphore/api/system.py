"""GET /api/ping and /api/info."""

from __future__ import annotations

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint, public
from semaphore.services import system


@api_blueprint.route("/ping", methods=["GET", "HEAD"])
@public
def ping() -> Response:
    return Response("pong", content_type="text/plain; charset=utf-8")


@api_blueprint.get("/info")
def info() -> Response:
    return jsonify(system.info())


@api_blueprint.route("/ready", methods=["GET", "HEAD"])
@public
def ready() -> Response:
    """Readiness for load balancers and orchestrators (the original's later route): 200 when
    the database and Redis answer, else 503 naming which does not."""
    return jsonify(system.readiness())
