"""Repositories: /api/project/{id}/repositories."""

from __future__ import annotations

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.references import Referrers
from semaphore.schemas.repositories import RepositoryIn, RepositoryList, RepositoryOut
from semaphore.services import repositories

TAGS = ("repository",)


@api_blueprint.get("/project/<int:project_id>/repositories")
@documented(query=PageQuery, answers={200: RepositoryList}, tags=TAGS)
def list_repositories(project_id: int) -> Response:
    scope, page = access(project_id), page_args()
    rows = repositories.list_repositories(scope, *sort_args(), page=page)
    return paged(jsonify(RepositoryList.dump(rows)), page, rows.total)


@api_blueprint.post("/project/<int:project_id>/repositories")
@documented(body=RepositoryIn, answers={201: RepositoryOut}, tags=TAGS)
def create_repository(project_id: int) -> tuple[Response, int]:
    row = repositories.create_repository(access(project_id), json_object())
    return jsonify(RepositoryOut.dump(row)), 201


@api_blueprint.get("/project/<int:project_id>/repositories/<int:repository_id>")
@documented(answers={200: RepositoryOut}, tags=TAGS)
def get_repository(project_id: int, repository_id: int) -> Response:
    row = repositories.get_repository(access(project_id), repository_id)
    return jsonify(RepositoryOut.dump(row))


@api_blueprint.get("/project/<int:project_id>/repositories/<int:repository_id>/refs")
@documented(answers={200: Referrers}, tags=TAGS, addition=True)
def repository_refs(project_id: int, repository_id: int) -> Response:
    return jsonify(repositories.repository_refs(access(project_id), repository_id))


@api_blueprint.put("/project/<int:project_id>/repositories/<int:repository_id>")
@documented(body=RepositoryIn, answers={204: None}, tags=TAGS)
def update_repository(project_id: int, repository_id: int) -> tuple[str, int]:
    repositories.update_repository(access(project_id), repository_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/repositories/<int:repository_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_repository(project_id: int, repository_id: int) -> tuple[str, int]:
    repositories.delete_repository(access(project_id), repository_id)
    return "", 204
