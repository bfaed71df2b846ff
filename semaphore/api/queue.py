"""The global queue (admins): GET /api/tasks, GET and DELETE /api/tasks/{id}, as the original's
admin routes; its fields plus ours (the template, times, why a waiting task waits)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.schemas.tasks import ActiveTaskList, ActiveTaskOut
from semaphore.services.tasks import active

TAGS = ("task",)


@api_blueprint.get("/tasks")
@documented(answers={200: ActiveTaskList}, tags=TAGS, addition=True)
def list_active_tasks() -> Response:
    rows = active.list_active(current_user)
    return jsonify(ActiveTaskList.dump(ActiveTaskOut.of(row) for row in rows))


@api_blueprint.get("/tasks/<int:task_id>")
@documented(answers={200: ActiveTaskOut}, tags=TAGS, addition=True)
def get_active_task(task_id: int) -> Response:
    return jsonify(ActiveTaskOut.of(active.get_active(current_user, task_id)))


@api_blueprint.delete("/tasks/<int:task_id>")
@documented(answers={204: None}, tags=TAGS, addition=True)
def stop_active_task(task_id: int) -> tuple[str, int]:
    active.stop_active(current_user, task_id)
    return "", 204
