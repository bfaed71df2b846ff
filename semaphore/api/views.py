"""Views: /api/project/{id}/views, the tabs that group templates."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.api.templates import templates_shape
from semaphore.models import View
from semaphore.services import templates, views


def view_shape(row: View) -> dict[str, Any]:
    body = {
        "id": row.id,
        "project_id": row.project_id,
        "title": row.title,
        "position": row.position,
        "hidden": row.hidden,
        "type": row.type,
        "sort_reverse": row.sort_reverse,
    }
    # The contract's enum has no empty value, so an unset column is left out.
    if row.sort_column:
        body["sort_column"] = row.sort_column
    return body


@api_blueprint.get("/project/<int:project_id>/views")
def list_views(project_id: int) -> Response:
    return jsonify([view_shape(row) for row in views.list_views(access(project_id))])


@api_blueprint.post("/project/<int:project_id>/views")
def create_view(project_id: int) -> tuple[Response, int]:
    return jsonify(view_shape(views.create_view(access(project_id), json_object()))), 201


@api_blueprint.post("/project/<int:project_id>/views/positions")
def set_view_positions(project_id: int) -> tuple[str, int]:
    views.set_positions(access(project_id), json_object())
    return "", 204


@api_blueprint.get("/project/<int:project_id>/views/<int:view_id>")
def get_view(project_id: int, view_id: int) -> Response:
    return jsonify(view_shape(views.get_view(access(project_id), view_id)))


@api_blueprint.get("/project/<int:project_id>/views/<int:view_id>/templates")
def view_templates(project_id: int, view_id: int) -> Response:
    scope = access(project_id)
    view = views.get_view(scope, view_id)
    rows = templates.list_templates(scope, *sort_args(), view_id=view.id)
    return jsonify(templates_shape(rows))


@api_blueprint.put("/project/<int:project_id>/views/<int:view_id>")
def update_view(project_id: int, view_id: int) -> tuple[str, int]:
    views.update_view(access(project_id), view_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/views/<int:view_id>")
def delete_view(project_id: int, view_id: int) -> tuple[str, int]:
    views.delete_view(access(project_id), view_id)
    return "", 204
