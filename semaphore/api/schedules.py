"""Schedules: /api/project/{id}/schedules, cron validation and switching schedules on and off."""

from __future__ import annotations

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.project_scope import access
from semaphore.api.request_body import json_object
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.schedules import (
    CronIn,
    ScheduleActiveIn,
    ScheduleIn,
    ScheduleList,
    ScheduleOut,
    ScheduleWithTemplate,
    ScheduleWithTemplateList,
)
from semaphore.services import schedules

TAGS = ("schedule",)


@api_blueprint.get("/project/<int:project_id>/schedules")
@documented(query=PageQuery, answers={200: ScheduleWithTemplateList}, tags=TAGS, addition=True)
def list_schedules(project_id: int) -> Response:
    scope, page = access(project_id), page_args()
    rows = schedules.list_schedules(scope, page=page)
    shown = [ScheduleWithTemplate.of(row, name) for row, name in rows]
    return paged(jsonify(shown), page, rows.total)


@api_blueprint.post("/project/<int:project_id>/schedules")
@documented(body=ScheduleIn, answers={201: ScheduleOut}, tags=TAGS)
def create_schedule(project_id: int) -> tuple[Response, int]:
    row = schedules.create_schedule(access(project_id), json_object())
    return jsonify(ScheduleOut.dump(row)), 201


@api_blueprint.post("/project/<int:project_id>/schedules/validate")
@documented(body=CronIn, answers={200: None}, tags=TAGS, addition=True)
def validate_schedule(project_id: int) -> tuple[str, int]:
    access(project_id)
    schedules.check_cron(json_object())
    return "", 200


@api_blueprint.get("/project/<int:project_id>/templates/<int:template_id>/schedules")
@documented(answers={200: ScheduleList}, tags=("template",), addition=True)
def template_schedules(project_id: int, template_id: int) -> Response:
    rows = schedules.list_template_schedules(access(project_id), template_id)
    return jsonify(ScheduleList.dump(rows))


@api_blueprint.get("/project/<int:project_id>/schedules/<int:schedule_id>")
@documented(answers={200: ScheduleOut}, tags=TAGS)
def get_schedule(project_id: int, schedule_id: int) -> Response:
    return jsonify(ScheduleOut.dump(schedules.get_schedule(access(project_id), schedule_id)))


@api_blueprint.put("/project/<int:project_id>/schedules/<int:schedule_id>")
@documented(body=ScheduleIn, answers={204: None}, tags=TAGS)
def update_schedule(project_id: int, schedule_id: int) -> tuple[str, int]:
    schedules.update_schedule(access(project_id), schedule_id, json_object())
    return "", 204


@api_blueprint.put("/project/<int:project_id>/schedules/<int:schedule_id>/active")
@documented(body=ScheduleActiveIn, answers={204: None}, tags=TAGS, addition=True)
def set_schedule_active(project_id: int, schedule_id: int) -> tuple[str, int]:
    schedules.set_active(access(project_id), schedule_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/schedules/<int:schedule_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_schedule(project_id: int, schedule_id: int) -> tuple[str, int]:
    schedules.delete_schedule(access(project_id), schedule_id)
    return "", 204
