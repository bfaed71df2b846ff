"""The RQ jobs that send notifications, apart from the task's own run and the web request."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from semaphore.config import current_config
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.models import FINISHED_STATUSES, User
from semaphore.notifications import dispatch
from semaphore.services import events
from semaphore.services.tasks import output as task_output

log = logging.getLogger(__name__)


def send_task_notifications(task_id: int, status: str) -> None:
    """RQ entry point: send what is due for the task having reached `status`.

    No retries, as the original: each channel is tried once and its failure logged, and a
    retried job would send again the channels that did succeed.
    """
    app = runtime.get_app()
    with app.app_context():
        try:
            notify_task(task_id, status)
        finally:
            db.session.remove()


def notify_task(task_id: int, status: str) -> list[dispatch.Outcome]:
    """Send what is due for the task having reached `status`, and say so in its log."""
    outcomes = dispatch.send_task_notifications(task_id, status)
    # While a task waits for confirmation its worker still writes the log: only a finished
    # task's log is ours to add to.
    if outcomes and status in FINISHED_STATUSES:
        try:
            for outcome in outcomes:
                task_output.append_line(task_id, outcome.line)
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            log.exception("task %s: could not write the notification outcome to its log", task_id)
    return outcomes


def send_test_notifications(project_id: int, user_id: int | None) -> None:
    """RQ entry point: send a project's test notification and record the outcome as an event.

    No retries either, for the same reason. When the project is gone, or its alerts were
    turned off after the test was asked for, nothing is sent and nothing recorded.
    """
    app = runtime.get_app()
    with app.app_context():
        try:
            outcomes = dispatch.send_test_notifications(project_id, user_id)
            if outcomes is None:
                log.info(
                    "project %s: test notification not sent (no project or alerts off)", project_id
                )
                return
            requester = db.session.get(User, user_id) if user_id is not None else None
            events.record(
                None,
                "project",
                project_id,
                dispatch.summary_of_test(current_config(), outcomes),
                user=requester,
                project_id=project_id,
            )
            db.session.commit()
        finally:
            db.session.remove()
