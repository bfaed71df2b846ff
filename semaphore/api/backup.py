"""Project backup and restore: GET /api/project/{id}/backup and POST /api/projects/restore."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access
from semaphore.api.projects import project_shape
from semaphore.api.request_body import json_body
from semaphore.services import backup


@api_blueprint.get("/project/<int:project_id>/backup")
def backup_project(project_id: int) -> Response:
    return jsonify(backup.export_project(access(project_id)))


@api_blueprint.post("/projects/restore")
def restore_project() -> Response:
    # The original answers 200 here, not 201.
    return jsonify(project_shape(backup.restore_project(current_user, json_body())))
