"""The RQ job that sends a task's notifications, apart from the task's own run."""

from __future__ import annotations

from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.notifications import dispatch


def send_task_notifications(task_id: int, status: str) -> None:
    """RQ entry point: send what is due for the task having reached `status`.

    No retries, as the original: each channel is tried once and its failure logged, and a
    retried job would send again the channels that did succeed.
    """
    app = runtime.get_app()
    with app.app_context():
        try:
            dispatch.send_task_notifications(task_id, status)
        finally:
            db.session.remove()
