"""Tasks: /api/project/{id}/tasks, their output, stop and confirm."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, stream_with_context

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access
from semaphore.api.request_body import json_object
from semaphore.errors import ValidationError
from semaphore.models import Task, Template, isoformat
from semaphore.services import tasks
from semaphore.services.tasks import output as task_output
from semaphore.services.tasks.output import OutputLine
from semaphore.services.validation import parse_json_text


def _params(text: str | None) -> dict | None:
    value = parse_json_text(text, default=None) if text else None
    return value if isinstance(value, dict) else None


def task_shape(
    row: Task,
    *,
    secret: str = "",
    template: Template | None = None,
    user_name: str | None = None,
) -> dict[str, Any]:
    """The one task shape: the original's Task, plus its TaskWithTpl fields when the template
    is given (lists, a template's last task). The secret never shows (POST "{}", GET "")."""
    body: dict[str, Any] = {
        "id": row.id,
        "template_id": row.template_id,
        "project_id": row.project_id,
        "status": row.status,
        "debug": row.debug,
        "dry_run": row.dry_run,
        "diff": row.diff,
        "playbook": row.playbook,
        "environment": row.environment,
        "limit": row.limit,
        "secret": secret,
        "arguments": row.arguments,
        "git_branch": row.git_branch,
        "params": _params(row.params),
        "user_id": row.user_id,
        "integration_id": row.integration_id,
        "schedule_id": row.schedule_id,
        "created": isoformat(row.created),
        "start": isoformat(row.start),
        "end": isoformat(row.end),
        "message": row.message,
        "commit_hash": row.commit_hash,
        "commit_message": row.commit_message,
        "build_task_id": row.build_task_id,
        "version": row.version,
        "inventory_id": row.inventory_id,
    }
    if template is not None:
        body.update(
            tpl_playbook=template.playbook,
            tpl_alias=template.name,
            tpl_type=template.type,
            tpl_app=template.app,
            user_name=user_name,
        )
    return body


def _list_item(row: Task, template: Template, user_name: str | None) -> dict[str, Any]:
    return task_shape(row, template=template, user_name=user_name)


@api_blueprint.get("/project/<int:project_id>/tasks")
def list_tasks(project_id: int) -> Response:
    return jsonify([_list_item(*row) for row in tasks.list_tasks(access(project_id))])


@api_blueprint.get("/project/<int:project_id>/tasks/last")
def last_tasks(project_id: int) -> Response:
    limit = request.args.get("limit", default=tasks.LAST_TASKS_LIMIT, type=int)
    limit = min(max(limit, 1), tasks.LAST_TASKS_LIMIT)
    return jsonify([_list_item(*row) for row in tasks.list_tasks(access(project_id), limit=limit)])


@api_blueprint.get("/project/<int:project_id>/templates/<int:template_id>/tasks")
def template_tasks(project_id: int, template_id: int) -> Response:
    rows = tasks.list_tasks(access(project_id), template_id=template_id)
    return jsonify([_list_item(*row) for row in rows])


@api_blueprint.post("/project/<int:project_id>/tasks")
def create_task(project_id: int) -> tuple[Response, int]:
    task = tasks.create_task(access(project_id), json_object())
    return jsonify(task_shape(task, secret="{}")), 201


@api_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>")
def get_task(project_id: int, task_id: int) -> Response:
    return jsonify(task_shape(tasks.get_task(access(project_id), task_id)))


def _query_count(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError(f"{name} must be a non-negative integer", name)
    return int(raw)


def _line_shape(line: OutputLine) -> dict:
    return {
        "task_id": line.task_id,
        "task": "",
        "time": isoformat(line.time),
        "output": line.output,
    }


@api_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>/output")
def task_output_lines(project_id: int, task_id: int) -> Response:
    """Every line, as the original; `?after=<line number>&limit=<n>` reads a page of them."""
    after = _query_count("after", 0)
    limit = _query_count("limit", None)
    lines = tasks.list_output(access(project_id), task_id, after, limit)
    return jsonify([_line_shape(line) for line in lines])


@api_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>/output/search")
def search_task_output(project_id: int, task_id: int) -> Response:
    """Lines containing ?q= (any case, colours ignored), 100 per page by default; not in the
    original. `next_after` is the `after` of the next page, null on the last."""
    lines, next_after = tasks.search_output(
        access(project_id),
        task_id,
        request.args.get("q", ""),
        _query_count("after", 0),
        _query_count("limit", 100),
    )
    return jsonify(
        {
            "lines": [{"seq": line.seq, **_line_shape(line)} for line in lines],
            "next_after": next_after,
        }
    )


@api_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>/raw_output")
def task_raw_output(project_id: int, task_id: int) -> Response:
    tasks.get_task(access(project_id), task_id)
    # Streamed a chunk at a time: a million-line log is never built whole in memory.
    body = stream_with_context(task_output.iter_text(task_id))
    return Response(body, mimetype="text/plain")


@api_blueprint.post("/project/<int:project_id>/tasks/<int:task_id>/stop")
def stop_task(project_id: int, task_id: int) -> tuple[str, int]:
    tasks.stop_task(access(project_id), task_id, json_object(required=False))
    return "", 204


@api_blueprint.post("/project/<int:project_id>/tasks/<int:task_id>/confirm")
def confirm_task(project_id: int, task_id: int) -> tuple[str, int]:
    tasks.confirm_task(access(project_id), task_id)
    return "", 204


@api_blueprint.post("/project/<int:project_id>/tasks/<int:task_id>/reject")
def reject_task(project_id: int, task_id: int) -> tuple[str, int]:
    """Refuse a terraform plan waiting for confirmation (the original's route, not in the
    2.16 contract)."""
    tasks.reject_task(access(project_id), task_id)
    return "", 204


@api_blueprint.post("/project/<int:project_id>/templates/<int:template_id>/stop_all_tasks")
def stop_template_tasks(project_id: int, template_id: int) -> tuple[str, int]:
    tasks.stop_template_tasks(access(project_id), template_id, json_object(required=False))
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/tasks/<int:task_id>")
def delete_task(project_id: int, task_id: int) -> tuple[str, int]:
    tasks.delete_task(access(project_id), task_id)
    return "", 204
