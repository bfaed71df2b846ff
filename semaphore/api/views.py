"""Views: /api/project/{id}/views, the tabs that group templates."""

from __future__ import annotations

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.api.templates import templates_answer
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.templates import TemplateList
from semaphore.schemas.views import ViewIn, ViewList, ViewOut, ViewPositionsIn
from semaphore.services import templates, views

TAGS = ("project",)


@api_blueprint.get("/project/<int:project_id>/views")
@documented(query=PageQuery, answers={200: ViewList}, tags=TAGS)
def list_views(project_id: int) -> Response:
    scope, page = access(project_id), page_args()
    rows = views.list_views(scope, page=page)
    return paged(jsonify(ViewList.dump(rows)), page, rows.total)


@api_blueprint.post("/project/<int:project_id>/views")
@documented(body=ViewIn, answers={201: ViewOut}, tags=TAGS)
def create_view(project_id: int) -> tuple[Response, int]:
    return jsonify(ViewOut.dump(views.create_view(access(project_id), json_object()))), 201


@api_blueprint.post("/project/<int:project_id>/views/positions")
@documented(body=ViewPositionsIn, answers={204: None}, tags=TAGS, addition=True)
def set_view_positions(project_id: int) -> tuple[str, int]:
    views.set_positions(access(project_id), json_object())
    return "", 204


@api_blueprint.get("/project/<int:project_id>/views/<int:view_id>")
@documented(answers={200: ViewOut}, tags=TAGS)
def get_view(project_id: int, view_id: int) -> Response:
    return jsonify(ViewOut.dump(views.get_view(access(project_id), view_id)))


@api_blueprint.get("/project/<int:project_id>/views/<int:view_id>/templates")
@documented(answers={200: TemplateList}, tags=TAGS, addition=True)
def view_templates(project_id: int, view_id: int) -> Response:
    scope = access(project_id)
    view = views.get_view(scope, view_id)
    rows = templates.list_templates(scope, *sort_args(), view_id=view.id)
    return templates_answer(rows)


@api_blueprint.put("/project/<int:project_id>/views/<int:view_id>")
@documented(body=ViewIn, answers={204: None}, tags=TAGS)
def update_view(project_id: int, view_id: int) -> tuple[str, int]:
    views.update_view(access(project_id), view_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/views/<int:view_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_view(project_id: int, view_id: int) -> tuple[str, int]:
    views.delete_view(access(project_id), view_id)
    return "", 204
