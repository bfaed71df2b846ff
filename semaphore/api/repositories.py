"""Repositories: /api/project/{id}/repositories."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.models import Repository
from semaphore.services import repositories


def repository_shape(row: Repository) -> dict[str, Any]:
    """A repository as the contract shows it."""
    return {
        "id": row.id,
        "name": row.name,
        "project_id": row.project_id,
        "git_url": row.git_url,
        "git_branch": row.git_branch,
        "ssh_key_id": row.ssh_key_id,
    }


@api_blueprint.get("/project/<int:project_id>/repositories")
def list_repositories(project_id: int) -> Response:
    rows = repositories.list_repositories(access(project_id), *sort_args())
    return jsonify([repository_shape(row) for row in rows])


@api_blueprint.post("/project/<int:project_id>/repositories")
def create_repository(project_id: int) -> tuple[Response, int]:
    row = repositories.create_repository(access(project_id), json_object())
    return jsonify(repository_shape(row)), 201


@api_blueprint.get("/project/<int:project_id>/repositories/<int:repository_id>")
def get_repository(project_id: int, repository_id: int) -> Response:
    return jsonify(repository_shape(repositories.get_repository(access(project_id), repository_id)))


@api_blueprint.get("/project/<int:project_id>/repositories/<int:repository_id>/refs")
def repository_refs(project_id: int, repository_id: int) -> Response:
    return jsonify(repositories.repository_refs(access(project_id), repository_id))


@api_blueprint.put("/project/<int:project_id>/repositories/<int:repository_id>")
def update_repository(project_id: int, repository_id: int) -> tuple[str, int]:
    repositories.update_repository(access(project_id), repository_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/repositories/<int:repository_id>")
def delete_repository(project_id: int, repository_id: int) -> tuple[str, int]:
    repositories.delete_repository(access(project_id), repository_id)
    return "", 204
