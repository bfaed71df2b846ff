"""Environments: /api/project/{id}/environment. Secret values go in, never out."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.models import Environment
from semaphore.services import environments
from semaphore.services.environments import EnvironmentSecret


def environment_shape(
    row: Environment, secrets: list[EnvironmentSecret] | None = None
) -> dict[str, Any]:
    """An environment; `secrets` is null in lists, and every listed secret has an empty value."""
    return {
        "id": row.id,
        "name": row.name,
        "project_id": row.project_id,
        "password": row.password,
        "json": row.json,
        "env": row.env,
        "secrets": None
        if secrets is None
        else [{"id": s.id, "type": s.type, "name": s.name, "secret": ""} for s in secrets],
    }


@api_blueprint.get("/project/<int:project_id>/environment")
def list_environments(project_id: int) -> Response:
    rows = environments.list_environments(access(project_id), *sort_args())
    return jsonify([environment_shape(row) for row in rows])


@api_blueprint.post("/project/<int:project_id>/environment")
def create_environment(project_id: int) -> tuple[Response, int]:
    scope = access(project_id)
    row = environments.create_environment(scope, json_object())
    return jsonify(environment_shape(row, environments.environment_secrets(scope, row))), 201


@api_blueprint.get("/project/<int:project_id>/environment/<int:environment_id>")
def get_environment(project_id: int, environment_id: int) -> Response:
    scope = access(project_id)
    row = environments.get_environment(scope, environment_id)
    return jsonify(environment_shape(row, environments.environment_secrets(scope, row)))


@api_blueprint.get("/project/<int:project_id>/environment/<int:environment_id>/refs")
def environment_refs(project_id: int, environment_id: int) -> Response:
    return jsonify(environments.environment_refs(access(project_id), environment_id))


@api_blueprint.put("/project/<int:project_id>/environment/<int:environment_id>")
def update_environment(project_id: int, environment_id: int) -> tuple[str, int]:
    environments.update_environment(access(project_id), environment_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/environment/<int:environment_id>")
def delete_environment(project_id: int, environment_id: int) -> tuple[str, int]:
    environments.delete_environment(access(project_id), environment_id)
    return "", 204
