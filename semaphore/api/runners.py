"""Remote runners: /api/runners… and /api/runner_tags (admins only), and a project's own,
/api/project/{id}/runners… and …/runner_tags (members read, managers change). The same service
functions serve both through a RunnerOwner. The runner protocol (/internal/runners) is not here.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.project_scope import access
from semaphore.api.request_body import json_object
from semaphore.schemas.runners import (
    RunnerActiveIn,
    RunnerIn,
    RunnerList,
    RunnerOut,
    RunnerRegistrationTokenOut,
    RunnerTagList,
    RunnerWithTokenOut,
)
from semaphore.services import runners
from semaphore.services.runners import RunnerOwner

TAGS = ("runner",)
P = "/project/<int:project_id>"


def _global() -> RunnerOwner:
    return runners.global_owner(current_user)


def _project(project_id: int) -> RunnerOwner:
    return runners.project_owner(access(project_id))


def _shown(runner: Any, token: str = "") -> dict[str, Any]:
    """One runner; the token only in the answer that created it."""
    shown = RunnerWithTokenOut.model_validate(runner).model_copy(update={"token": token})
    return shown.model_dump(mode="json")


def _list(owner: RunnerOwner) -> Response:
    rows = runners.list_runners(owner)
    return jsonify(RunnerList.dump(RunnerOut.seen_from(row, owner.project_id) for row in rows))


def _created(owner: RunnerOwner) -> tuple[Response, int]:
    runner, token = runners.create_runner(owner, json_object())
    return jsonify(_shown(runner, token)), 201


def _registration_token(owner: RunnerOwner, runner_id: int) -> Response:
    runner, token = runners.new_registration_token(owner, runner_id)
    shown = {"registration_token": token, "runner_id": runner.id, "project_id": runner.project_id}
    return jsonify(RunnerRegistrationTokenOut.dump(shown))


# --- global runners (admins) -------------------------------------------------------------------


@api_blueprint.get("/runners")
@documented(answers={200: RunnerList}, tags=TAGS)
def list_global_runners() -> Response:
    return _list(_global())


@api_blueprint.post("/runners")
@documented(body=RunnerIn, answers={201: RunnerWithTokenOut}, tags=TAGS)
def create_global_runner() -> tuple[Response, int]:
    return _created(_global())


@api_blueprint.get("/runner_tags")
@documented(answers={200: RunnerTagList}, tags=TAGS)
def global_runner_tags() -> Response:
    return jsonify(RunnerTagList.dump(runners.runner_tags(_global())))


@api_blueprint.get("/runners/<int:runner_id>")
@documented(answers={200: RunnerWithTokenOut}, tags=TAGS)
def get_global_runner(runner_id: int) -> Response:
    return jsonify(_shown(runners.get_runner(_global(), runner_id)))


@api_blueprint.put("/runners/<int:runner_id>")
@documented(body=RunnerIn, answers={204: None}, tags=TAGS)
def update_global_runner(runner_id: int) -> tuple[str, int]:
    runners.update_runner(_global(), runner_id, json_object())
    return "", 204


@api_blueprint.post("/runners/<int:runner_id>")
@documented(body=RunnerIn, answers={204: None}, tags=TAGS, addition=True)
def update_global_runner_by_post(runner_id: int) -> tuple[str, int]:
    """Update a global runner: the original's router takes POST as PUT here."""
    return update_global_runner(runner_id)


@api_blueprint.delete("/runners/<int:runner_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_global_runner(runner_id: int) -> tuple[str, int]:
    runners.delete_runner(_global(), runner_id)
    return "", 204


@api_blueprint.post("/runners/<int:runner_id>/active")
@documented(body=RunnerActiveIn, answers={204: None}, tags=TAGS)
def set_global_runner_active(runner_id: int) -> tuple[str, int]:
    runners.set_runner_active(_global(), runner_id, json_object())
    return "", 204


@api_blueprint.post("/runners/<int:runner_id>/registration-token")
@documented(answers={200: RunnerRegistrationTokenOut}, tags=TAGS)
def global_runner_registration_token(runner_id: int) -> Response:
    return _registration_token(_global(), runner_id)


@api_blueprint.delete("/runners/<int:runner_id>/cache")
@documented(answers={204: None}, tags=TAGS)
def clear_global_runner_cache(runner_id: int) -> tuple[str, int]:
    runners.clear_runner_cache(_global(), runner_id)
    return "", 204


# --- project runners ---------------------------------------------------------------------------


@api_blueprint.get(P + "/runners")
@documented(answers={200: RunnerList}, tags=TAGS)
def list_project_runners(project_id: int) -> Response:
    return _list(_project(project_id))


@api_blueprint.post(P + "/runners")
@documented(body=RunnerIn, answers={201: RunnerWithTokenOut}, tags=TAGS)
def create_project_runner(project_id: int) -> tuple[Response, int]:
    return _created(_project(project_id))


@api_blueprint.get(P + "/runner_tags")
@documented(answers={200: RunnerTagList}, tags=TAGS)
def project_runner_tags(project_id: int) -> Response:
    return jsonify(RunnerTagList.dump(runners.runner_tags(_project(project_id))))


@api_blueprint.get(P + "/runners/<int:runner_id>")
@documented(answers={200: RunnerWithTokenOut}, tags=TAGS)
def get_project_runner(project_id: int, runner_id: int) -> Response:
    return jsonify(_shown(runners.get_runner(_project(project_id), runner_id)))


@api_blueprint.put(P + "/runners/<int:runner_id>")
@documented(body=RunnerIn, answers={204: None}, tags=TAGS)
def update_project_runner(project_id: int, runner_id: int) -> tuple[str, int]:
    runners.update_runner(_project(project_id), runner_id, json_object())
    return "", 204


@api_blueprint.post(P + "/runners/<int:runner_id>")
@documented(body=RunnerIn, answers={204: None}, tags=TAGS, addition=True)
def update_project_runner_by_post(project_id: int, runner_id: int) -> tuple[str, int]:
    """Update a project runner: the original's router takes POST as PUT here."""
    return update_project_runner(project_id, runner_id)


@api_blueprint.delete(P + "/runners/<int:runner_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_project_runner(project_id: int, runner_id: int) -> tuple[str, int]:
    runners.delete_runner(_project(project_id), runner_id)
    return "", 204


@api_blueprint.post(P + "/runners/<int:runner_id>/active")
@documented(body=RunnerActiveIn, answers={204: None}, tags=TAGS)
def set_project_runner_active(project_id: int, runner_id: int) -> tuple[str, int]:
    runners.set_runner_active(_project(project_id), runner_id, json_object())
    return "", 204


@api_blueprint.post(P + "/runners/<int:runner_id>/registration-token")
@documented(answers={200: RunnerRegistrationTokenOut}, tags=TAGS)
def project_runner_registration_token(project_id: int, runner_id: int) -> Response:
    return _registration_token(_project(project_id), runner_id)


@api_blueprint.delete(P + "/runners/<int:runner_id>/cache")
@documented(answers={204: None}, tags=TAGS)
def clear_project_runner_cache(project_id: int, runner_id: int) -> tuple[str, int]:
    runners.clear_runner_cache(_project(project_id), runner_id)
    return "", 204
