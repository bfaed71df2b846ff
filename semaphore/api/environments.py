"""Environments: /api/project/{id}/environment. Secret values go in, never out."""

from __future__ import annotations

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.schemas.environments import EnvironmentIn, EnvironmentList, EnvironmentOut
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.references import Referrers
from semaphore.services import environments

TAGS = ("variable-group",)


@api_blueprint.get("/project/<int:project_id>/environment")
@documented(query=PageQuery, answers={200: EnvironmentList}, tags=TAGS)
def list_environments(project_id: int) -> Response:
    scope, page = access(project_id), page_args()
    rows = environments.list_environments(scope, *sort_args(), page=page)
    return paged(jsonify(EnvironmentList.dump(rows)), page, rows.total)


@api_blueprint.post("/project/<int:project_id>/environment")
@documented(body=EnvironmentIn, answers={201: EnvironmentOut}, tags=TAGS)
def create_environment(project_id: int) -> tuple[Response, int]:
    scope = access(project_id)
    row = environments.create_environment(scope, json_object())
    secrets = environments.environment_secrets(scope, row)
    return jsonify(EnvironmentOut.dump_with_secrets(row, secrets)), 201


@api_blueprint.get("/project/<int:project_id>/environment/<int:environment_id>")
@documented(answers={200: EnvironmentOut}, tags=TAGS)
def get_environment(project_id: int, environment_id: int) -> Response:
    scope = access(project_id)
    row = environments.get_environment(scope, environment_id)
    secrets = environments.environment_secrets(scope, row)
    return jsonify(EnvironmentOut.dump_with_secrets(row, secrets))


@api_blueprint.get("/project/<int:project_id>/environment/<int:environment_id>/refs")
@documented(answers={200: Referrers}, tags=TAGS, addition=True)
def environment_refs(project_id: int, environment_id: int) -> Response:
    return jsonify(environments.environment_refs(access(project_id), environment_id))


@api_blueprint.put("/project/<int:project_id>/environment/<int:environment_id>")
@documented(body=EnvironmentIn, answers={204: None}, tags=TAGS)
def update_environment(project_id: int, environment_id: int) -> tuple[str, int]:
    environments.update_environment(access(project_id), environment_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/environment/<int:environment_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_environment(project_id: int, environment_id: int) -> tuple[str, int]:
    environments.delete_environment(access(project_id), environment_id)
    return "", 204
