"""GET /api/ping, /api/info and /api/ready."""

from __future__ import annotations

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint, public
from semaphore.api.openapi import documented
from semaphore.schemas.system import InfoOut, NotReady, Pong, ReadyOut
from semaphore.services import system

TAGS = ("system",)


@api_blueprint.route("/ping", methods=["GET", "HEAD"])
@documented(answers={200: Pong}, tags=TAGS)
@public
def ping() -> Response:
    return Response("pong", content_type="text/plain; charset=utf-8")


@api_blueprint.get("/info")
@documented(answers={200: InfoOut}, tags=TAGS)
def info() -> Response:
    return jsonify(InfoOut.dump(system.info()))


@api_blueprint.route("/ready", methods=["GET", "HEAD"])
@documented(answers={200: ReadyOut, 503: NotReady}, tags=TAGS, addition=True)
@public
def ready() -> Response:
    """Readiness for load balancers and orchestrators (the original's later route): 200 when
    the database and Redis answer, else 503 naming which does not."""
    return jsonify(ReadyOut.dump(system.readiness()))
