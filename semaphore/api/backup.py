"""Project backup and restore: GET /api/project/{id}/backup and POST /api/projects/restore."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.project_scope import access
from semaphore.api.request_body import json_body
from semaphore.schemas.projects import ProjectBackup, ProjectOut
from semaphore.services import backup

TAGS = ("project",)


@api_blueprint.get("/project/<int:project_id>/backup")
@documented(answers={200: ProjectBackup}, tags=TAGS)
def backup_project(project_id: int) -> Response:
    return jsonify(backup.export_project(access(project_id)))


@api_blueprint.post("/projects/restore")
@documented(body=ProjectBackup, answers={200: ProjectOut}, tags=TAGS)
def restore_project() -> Response:
    # The original answers 200 here, not 201.
    return jsonify(ProjectOut.dump(backup.restore_project(current_user, json_body())))
