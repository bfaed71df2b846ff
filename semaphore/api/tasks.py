"""Tasks: /api/project/{id}/tasks, their output, stop and confirm."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, stream_with_context

from semaphore import memory
from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.project_scope import access
from semaphore.api.request_body import json_object
from semaphore.errors import ValidationError
from semaphore.models import Task, Template
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.tasks import (
    LastTasksQuery,
    OutputQuery,
    OutputSearchAnswer,
    OutputSearchQuery,
    StopIn,
    TaskIn,
    TaskList,
    TaskOut,
    TaskOutputLines,
    output_lines_json,
)
from semaphore.services import tasks
from semaphore.services.tasks import output as task_output

TAGS = ("task",)


def task_shape(
    row: Task,
    *,
    secret: str = "",
    template: Template | None = None,
    user_name: str | None = None,
) -> dict[str, Any]:
    """The one task shape (TaskOut): the original's Task with its TaskWithTpl fields, in every
    answer. Without `template`, the task's own template and user are looked up. The secret
    never shows (POST "{}", elsewhere "")."""
    if template is None:
        template, user_name = tasks.task_context(row)
    reason = tasks.waiting_reasons([row]).get(row.id)
    return TaskOut.of(row, template, user_name, secret=secret, waiting_reason=reason)


def _list(rows: list[tuple[Task, Template, str | None]]) -> list[dict[str, Any]]:
    reasons = tasks.waiting_reasons([task for task, _, _ in rows])
    return [
        TaskOut.of(task, template, user_name, waiting_reason=reasons.get(task.id))
        for task, template, user_name in rows
    ]


@api_blueprint.get("/project/<int:project_id>/tasks")
@documented(query=PageQuery, answers={200: TaskList}, tags=TAGS)
def list_tasks(project_id: int) -> Response:
    scope, page = access(project_id), page_args()
    rows = tasks.list_tasks(scope, page=page)
    return paged(jsonify(_list(rows)), page, rows.total)


@api_blueprint.get("/project/<int:project_id>/tasks/last")
@documented(query=LastTasksQuery, answers={200: TaskList}, tags=TAGS)
def last_tasks(project_id: int) -> Response:
    limit = request.args.get("limit", default=tasks.LAST_TASKS_LIMIT, type=int)
    limit = min(max(limit, 1), tasks.LAST_TASKS_LIMIT)
    return jsonify(_list(tasks.list_tasks(access(project_id), limit=limit)))


@api_blueprint.get("/project/<int:project_id>/templates/<int:template_id>/tasks")
@documented(answers={200: TaskList}, tags=("template",), addition=True)
def template_tasks(project_id: int, template_id: int) -> Response:
    return jsonify(_list(tasks.list_tasks(access(project_id), template_id=template_id)))


@api_blueprint.post("/project/<int:project_id>/tasks")
@documented(body=TaskIn, answers={201: TaskOut}, tags=TAGS)
def create_task(project_id: int) -> tuple[Response, int]:
    task, template, user_name = tasks.create_task_with_context(access(project_id), json_object())
    reason = tasks.new_task_reason(task)
    answer = TaskOut.of(task, template, user_name, secret="{}", waiting_reason=reason)
    return jsonify(answer), 201


@api_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>")
@documented(answers={200: TaskOut}, tags=TAGS)
def get_task(project_id: int, task_id: int) -> Response:
    return jsonify(task_shape(tasks.get_task(access(project_id), task_id)))


def _query_count(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError(f"{name} must be a non-negative integer", name)
    return int(raw)


@api_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>/output")
@documented(query=OutputQuery, answers={200: TaskOutputLines}, tags=TAGS)
def task_output_lines(project_id: int, task_id: int) -> Response:
    """Every line, as the original; `?after=<line number>&limit=<n>` reads a page of them."""
    after = _query_count("after", 0)
    limit = _query_count("limit", None)
    blocks = tasks.stream_output(access(project_id), task_id, after, limit)
    # Streamed a chunk of lines at a time: memory stays flat whatever the log's size.
    body = stream_with_context(output_lines_json(blocks))
    response = Response(body, mimetype="application/json")
    response.call_on_close(memory.give_back)
    return response


@api_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>/output/search")
@documented(query=OutputSearchQuery, answers={200: OutputSearchAnswer}, tags=TAGS, addition=True)
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
    return jsonify(OutputSearchAnswer.dump({"lines": lines, "next_after": next_after}))


@api_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>/raw_output")
@documented(answers={200: None}, tags=TAGS)
def task_raw_output(project_id: int, task_id: int) -> Response:
    tasks.get_task(access(project_id), task_id)
    # Streamed a chunk at a time: a million-line log is never built whole in memory.
    body = stream_with_context(task_output.iter_text(task_id))
    response = Response(body, mimetype="text/plain")
    response.call_on_close(memory.give_back)
    return response


@api_blueprint.post("/project/<int:project_id>/tasks/<int:task_id>/stop")
@documented(body=StopIn, answers={204: None}, tags=TAGS)
def stop_task(project_id: int, task_id: int) -> tuple[str, int]:
    tasks.stop_task(access(project_id), task_id, json_object(required=False))
    return "", 204


@api_blueprint.post("/project/<int:project_id>/tasks/<int:task_id>/confirm")
@documented(answers={204: None}, tags=TAGS, addition=True)
def confirm_task(project_id: int, task_id: int) -> tuple[str, int]:
    tasks.confirm_task(access(project_id), task_id)
    return "", 204


@api_blueprint.post("/project/<int:project_id>/tasks/<int:task_id>/reject")
@documented(answers={204: None}, tags=TAGS, addition=True)
def reject_task(project_id: int, task_id: int) -> tuple[str, int]:
    """Refuse a terraform plan waiting for confirmation (the original's route, not in the
    2.16 contract)."""
    tasks.reject_task(access(project_id), task_id)
    return "", 204


@api_blueprint.post("/project/<int:project_id>/templates/<int:template_id>/stop_all_tasks")
@documented(body=StopIn, answers={204: None}, tags=("template",))
def stop_template_tasks(project_id: int, template_id: int) -> tuple[str, int]:
    tasks.stop_template_tasks(access(project_id), template_id, json_object(required=False))
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/tasks/<int:task_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_task(project_id: int, task_id: int) -> tuple[str, int]:
    tasks.delete_task(access(project_id), task_id)
    return "", 204
