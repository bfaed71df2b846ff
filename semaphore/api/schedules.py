"""Schedules: /api/project/{id}/schedules, cron validation and switching schedules on and off."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access
from semaphore.api.request_body import json_object
from semaphore.models import Schedule, isoformat
from semaphore.services import schedules
from semaphore.services.schedules import cron


def schedule_shape(row: Schedule) -> dict[str, Any]:
    return {
        "id": row.id,
        "project_id": row.project_id,
        "template_id": row.template_id,
        "name": row.name,
        "cron_format": row.cron_format,
        "active": row.active,
        "type": row.type,
        "run_at": isoformat(row.run_at),
        "repository_id": row.repository_id,
        "task_params": schedules.task_params(row),
    }


@api_blueprint.get("/project/<int:project_id>/schedules")
def list_schedules(project_id: int) -> Response:
    rows = schedules.list_schedules(access(project_id))
    return jsonify([{**schedule_shape(row), "tpl_name": name} for row, name in rows])


@api_blueprint.post("/project/<int:project_id>/schedules")
def create_schedule(project_id: int) -> tuple[Response, int]:
    row = schedules.create_schedule(access(project_id), json_object())
    return jsonify(schedule_shape(row)), 201


@api_blueprint.post("/project/<int:project_id>/schedules/validate")
def validate_schedule(project_id: int) -> tuple[str, int]:
    access(project_id)
    cron.validate_cron(json_object().get("cron_format", ""))
    return "", 200


@api_blueprint.get("/project/<int:project_id>/templates/<int:template_id>/schedules")
def template_schedules(project_id: int, template_id: int) -> Response:
    rows = schedules.list_template_schedules(access(project_id), template_id)
    return jsonify([schedule_shape(row) for row in rows])


@api_blueprint.get("/project/<int:project_id>/schedules/<int:schedule_id>")
def get_schedule(project_id: int, schedule_id: int) -> Response:
    return jsonify(schedule_shape(schedules.get_schedule(access(project_id), schedule_id)))


@api_blueprint.put("/project/<int:project_id>/schedules/<int:schedule_id>")
def update_schedule(project_id: int, schedule_id: int) -> tuple[str, int]:
    schedules.update_schedule(access(project_id), schedule_id, json_object())
    return "", 204


@api_blueprint.put("/project/<int:project_id>/schedules/<int:schedule_id>/active")
def set_schedule_active(project_id: int, schedule_id: int) -> tuple[str, int]:
    schedules.set_active(access(project_id), schedule_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/schedules/<int:schedule_id>")
def delete_schedule(project_id: int, schedule_id: int) -> tuple[str, int]:
    schedules.delete_schedule(access(project_id), schedule_id)
    return "", 204
