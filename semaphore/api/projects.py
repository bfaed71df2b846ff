"""Projects, roles, members and activity: /api/projects, /api/project/{id}, /api/events."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.projects import (
    EventList,
    MemberIn,
    MemberList,
    MemberRoleIn,
    ProjectIn,
    ProjectList,
    ProjectOut,
    ProjectRoleOut,
    ProjectUpdateIn,
)
from semaphore.services import events, notification_tests, projects

LAST_EVENTS = 200
TAGS = ("project",)


@api_blueprint.get("/projects")
@documented(query=PageQuery, answers={200: ProjectList}, tags=TAGS)
def list_projects() -> Response:
    page = page_args()
    rows = projects.list_projects(current_user, page=page)
    return paged(jsonify(ProjectList.dump(rows)), page, rows.total)


@api_blueprint.post("/projects")
@documented(body=ProjectIn, answers={201: ProjectOut}, tags=TAGS)
def create_project() -> tuple[Response, int]:
    return jsonify(ProjectOut.dump(projects.create_project(current_user, json_object()))), 201


@api_blueprint.get("/project/<int:project_id>")
@documented(answers={200: ProjectOut}, tags=TAGS)
def get_project(project_id: int) -> Response:
    return jsonify(ProjectOut.dump(access(project_id).project))


@api_blueprint.put("/project/<int:project_id>")
@documented(body=ProjectUpdateIn, answers={204: None}, tags=TAGS)
def update_project(project_id: int) -> tuple[str, int]:
    projects.update_project(access(project_id), json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_project(project_id: int) -> tuple[str, int]:
    projects.delete_project(access(project_id))
    return "", 204


@api_blueprint.get("/project/<int:project_id>/role")
@documented(answers={200: ProjectRoleOut}, tags=TAGS)
def project_role(project_id: int) -> Response:
    scope = access(project_id)
    return jsonify(ProjectRoleOut.dump({"role": scope.role, "permissions": scope.permissions}))


@api_blueprint.get("/project/<int:project_id>/users")
@documented(query=PageQuery, answers={200: MemberList}, tags=TAGS)
def list_members(project_id: int) -> Response:
    scope, page = access(project_id), page_args()
    rows = projects.list_members(scope, *sort_args(), page=page)
    return paged(jsonify(MemberList.dump(rows)), page, rows.total)


@api_blueprint.post("/project/<int:project_id>/users")
@documented(body=MemberIn, answers={204: None}, tags=TAGS)
def add_member(project_id: int) -> tuple[str, int]:
    projects.add_member(access(project_id), json_object())
    return "", 204


@api_blueprint.put("/project/<int:project_id>/users/<int:user_id>")
@documented(body=MemberRoleIn, answers={204: None}, tags=TAGS)
def change_member_role(project_id: int, user_id: int) -> tuple[str, int]:
    projects.change_member_role(access(project_id), user_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/users/<int:user_id>")
@documented(answers={204: None}, tags=TAGS)
def remove_member(project_id: int, user_id: int) -> tuple[str, int]:
    projects.remove_member(access(project_id), user_id)
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/me")
@documented(answers={204: None}, tags=TAGS, addition=True)
def leave_project(project_id: int) -> tuple[str, int]:
    projects.leave_project(access(project_id))
    return "", 204


@api_blueprint.post("/project/<int:project_id>/notifications/test")
@documented(answers={204: None}, tags=TAGS)
def send_test_notification(project_id: int) -> tuple[str, int]:
    notification_tests.send_test_notification(access(project_id))
    return "", 204


@api_blueprint.get("/project/<int:project_id>/events")
@documented(query=PageQuery, answers={200: EventList}, tags=TAGS)
def project_events(project_id: int) -> Response:
    scope, page = access(project_id), page_args()
    rows = events.list_project_events(scope, page=page)
    return paged(jsonify(EventList.dump(rows)), page, rows.total)


@api_blueprint.get("/events")
@documented(query=PageQuery, answers={200: EventList}, tags=("event",))
def user_events() -> Response:
    page = page_args()
    rows = events.list_user_events(current_user, page=page)
    return paged(jsonify(EventList.dump(rows)), page, rows.total)


@api_blueprint.get("/events/last")
@documented(answers={200: EventList}, tags=("event",))
def last_user_events() -> Response:
    rows = events.list_user_events(current_user, limit=LAST_EVENTS)
    return jsonify(EventList.dump(rows))
