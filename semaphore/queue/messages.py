"""The live channel's messages as the worker and the web publish them: one per stored chunk
of output, one per task status change. live/events decodes them on the web side."""

from __future__ import annotations

import json
from typing import Any

from semaphore.models import Task, isoformat

CHANNEL = "live"


def lines_message(project_id: int, chunk: dict[str, Any]) -> str:
    """The announcement of a stored chunk (semaphore.services.task_output.chunk_row)."""
    return json.dumps(
        {
            "kind": "lines",
            "project_id": project_id,
            "task_id": chunk["task_id"],
            "first_seq": chunk["first_seq"],
            "line_count": chunk["line_count"],
            "started": chunk["started"].isoformat(),
            "times": chunk["times"],
            "output": chunk["output"],
        }
    )


def update_fields(task: Task) -> dict[str, Any]:
    """The original's `update` message for a task's current state."""
    return {
        "type": "update",
        "start": isoformat(task.start),
        "end": isoformat(task.end),
        "status": task.status,
        "task_id": task.id,
        "template_id": task.template_id,
        "project_id": task.project_id,
        "version": task.version,
    }


def update_message(task: Task) -> str:
    fields = update_fields(task)
    return json.dumps(
        {"kind": "update", "project_id": task.project_id, "task_id": task.id, "update": fields}
    )
