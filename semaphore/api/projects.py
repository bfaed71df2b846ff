"""Projects, roles, members and activity: /api/projects, /api/project/{id}, /api/events."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.models import Event, Project, User, isoformat
from semaphore.services import events, notification_tests, projects

LAST_EVENTS = 200


def project_shape(row: Project) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "created": isoformat(row.created),
        "alert": row.alert,
        "alert_chat": row.alert_chat,
        "max_parallel_tasks": row.max_parallel_tasks,
        "type": row.type,
    }


def event_shape(row: Event, username: str | None, project_name: str | None) -> dict:
    return {
        "project_id": row.project_id,
        "user_id": row.user_id,
        "integration_id": row.integration_id,
        "object_id": row.object_id,
        "object_type": row.object_type,
        "object_name": row.object_name,
        "description": row.description,
        "created": isoformat(row.created),
        "username": username,
        "project_name": project_name,
    }


def _member_shape(user: User, role: str) -> dict:
    return {"id": user.id, "username": user.username, "name": user.name, "role": role}


@api_blueprint.get("/projects")
def list_projects() -> Response:
    return jsonify([project_shape(p) for p in projects.list_projects(current_user)])


@api_blueprint.post("/projects")
def create_project() -> tuple[Response, int]:
    return jsonify(project_shape(projects.create_project(current_user, json_object()))), 201


@api_blueprint.get("/project/<int:project_id>")
def get_project(project_id: int) -> Response:
    return jsonify(project_shape(access(project_id).project))


@api_blueprint.put("/project/<int:project_id>")
def update_project(project_id: int) -> tuple[str, int]:
    projects.update_project(access(project_id), json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>")
def delete_project(project_id: int) -> tuple[str, int]:
    projects.delete_project(access(project_id))
    return "", 204


@api_blueprint.get("/project/<int:project_id>/role")
def project_role(project_id: int) -> Response:
    scope = access(project_id)
    return jsonify({"role": scope.role, "permissions": scope.permissions})


@api_blueprint.get("/project/<int:project_id>/users")
def list_members(project_id: int) -> Response:
    members = projects.list_members(access(project_id), *sort_args())
    return jsonify([_member_shape(user, role) for user, role in members])


@api_blueprint.post("/project/<int:project_id>/users")
def add_member(project_id: int) -> tuple[str, int]:
    projects.add_member(access(project_id), json_object())
    return "", 204


@api_blueprint.put("/project/<int:project_id>/users/<int:user_id>")
def change_member_role(project_id: int, user_id: int) -> tuple[str, int]:
    projects.change_member_role(access(project_id), user_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/users/<int:user_id>")
def remove_member(project_id: int, user_id: int) -> tuple[str, int]:
    projects.remove_member(access(project_id), user_id)
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/me")
def leave_project(project_id: int) -> tuple[str, int]:
    projects.leave_project(access(project_id))
    return "", 204


@api_blueprint.post("/project/<int:project_id>/notifications/test")
def send_test_notification(project_id: int) -> tuple[str, int]:
    notification_tests.send_test_notification(access(project_id))
    return "", 204


@api_blueprint.get("/project/<int:project_id>/events")
def project_events(project_id: int) -> Response:
    rows = events.list_project_events(access(project_id))
    return jsonify([event_shape(*row) for row in rows])


@api_blueprint.get("/events")
def user_events() -> Response:
    return jsonify([event_shape(*row) for row in events.list_user_events(current_user)])


@api_blueprint.get("/events/last")
def last_user_events() -> Response:
    rows = events.list_user_events(current_user, limit=LAST_EVENTS)
    return jsonify([event_shape(*row) for row in rows])
