"""The runner protocol, /api/internal/runners (REFERENCE.md §11): what a remote runner calls.

Its own blueprint, because a runner is not a user: no login, no session, no CSRF check (a
runner sends no cookie); the registration token or the X-Runner-Token header is the
credential. Bodies are never logged: they carry tokens, output and, in answers, secrets.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from semaphore import notifications
from semaphore.api.openapi import documented
from semaphore.api.request_body import json_object
from semaphore.models import Runner
from semaphore.schemas.runners import (
    RunnerProgressIn,
    RunnerRegistrationIn,
    RunnerStateOut,
    RunnerTokenOut,
)
from semaphore.services.runners import protocol

runner_protocol_blueprint = Blueprint("runner_protocol", __name__, url_prefix="/api/internal")

TAGS = ("runner",)
RUNNERS = "/runners"


def _runner() -> Runner:
    return protocol.authenticate(request.headers.get("X-Runner-Token"))


@runner_protocol_blueprint.post(RUNNERS)
@documented(body=RunnerRegistrationIn, answers={200: RunnerTokenOut}, tags=TAGS, addition=True)
def register_runner() -> Response:
    """Register a runner with a registration token; its token is shown only here."""
    _, token = protocol.register(json_object())
    return jsonify(RunnerTokenOut.dump({"token": token}))


@runner_protocol_blueprint.get(RUNNERS)
@documented(answers={200: RunnerStateOut}, tags=TAGS, addition=True)
def poll_runner() -> Response:
    """The runner's new jobs (with their secrets) and the state of its other jobs."""
    state = protocol.poll(_runner(), on_status=notifications.on_task_status)
    return jsonify(RunnerStateOut.dump(state))


@runner_protocol_blueprint.put(RUNNERS)
@documented(body=RunnerProgressIn, answers={204: None}, tags=TAGS, addition=True)
def report_runner_progress() -> tuple[str, int]:
    """The runner's jobs: their output lines and status changes."""
    runner = _runner()
    protocol.report(runner, json_object(nul_allowed=True), on_status=notifications.on_task_status)
    return "", 204


@runner_protocol_blueprint.delete(RUNNERS)
@documented(answers={204: None}, tags=TAGS, addition=True)
def unregister_runner() -> tuple[str, int]:
    """Remove the runner; its token stops working."""
    protocol.unregister(_runner())
    return "", 204
