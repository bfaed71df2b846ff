"""Keeping the queue honest after crashes: no task is lost, none stays stuck.

The scheduler process calls `recover` every tick:
* waiting tasks without a wake-up in flight (Redis was down at POST, or restarted and lost its
  queue) are enqueued again; the claim in the worker makes sure each runs once;
* active tasks whose worker stopped renewing their liveness key (killed, machine lost) for
  longer than LAPSE_SECONDS end `error` with a message saying so; their output stays;
* a remote runner that has not polled for `runner_timeout` seconds is offline: its tasks not
  yet started go back to the queue for another runner, its running ones end `error` with a
  line saying why (a stopping one ends `stopped`), and their templates are free again.
"""

from __future__ import annotations

import logging
import time

import redis
from sqlalchemy import update

from semaphore import notifications
from semaphore.config import current_config
from semaphore.errors import ServiceUnavailable
from semaphore.extensions import db
from semaphore.models import Task
from semaphore.queue import dispatch as task_queue
from semaphore.queue import runners as runner_queue
from semaphore.services import tasks
from semaphore.services.tasks import output as task_output

log = logging.getLogger(__name__)

LAPSE_SECONDS = 10.0
WORKER_LOST = "The worker running this task stopped unexpectedly; the task was ended."
RUNNER_LOST = (
    "The runner running this task has not reported for {seconds} s (runner_timeout); "
    "the task was ended."
)


class Recovery:
    """Remembers since when each active task has looked orphaned."""

    def __init__(self) -> None:
        self._lapsed_since: dict[int, float] = {}

    def recover(self) -> None:
        """One pass: re-send lost wake-ups, end tasks whose worker or runner is gone."""
        release_runner_tasks()
        try:
            task_queue.dispatch_waiting()
            lapsed = task_queue.lapsed_tasks()
        except (ServiceUnavailable, redis.RedisError) as exc:
            # Without Redis nothing can be told apart: keep every task as it is.
            self._lapsed_since.clear()
            log.warning("task recovery skipped: %s", exc)
            db.session.rollback()
            return
        now = time.monotonic()
        self._lapsed_since = {t: self._lapsed_since.get(t, now) for t in lapsed}
        for task_id, since in list(self._lapsed_since.items()):
            if now - since >= LAPSE_SECONDS:
                end_orphan(task_id)
                del self._lapsed_since[task_id]


def end_orphan(task_id: int) -> bool:
    """Mark a task whose worker died as `error`, with a line in its output saying why."""
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    if task is None or task.status not in task_queue.ACTIVE_STATUSES:
        return False
    task_output.append_line(task_id, WORKER_LOST)
    tasks.change_status(task, "error")
    task.message = task.message or "worker lost"
    db.session.commit()
    notifications.on_task_status(task_id, "error")
    task_queue.forget(task_id)
    task_queue.dispatch_waiting()
    return True


def release_runner_tasks() -> list[int]:
    """Give back or end the tasks of runners that stopped polling; returns the ended ones."""
    ended = []
    for task_id, status in runner_queue.lapsed_runner_tasks():
        if status == "starting":
            _requeue(task_id)
        elif _end_runner_task(task_id):
            ended.append(task_id)
    if ended:
        try:
            task_queue.dispatch_waiting()
        except ServiceUnavailable:
            log.warning("waiting tasks not dispatched (Redis unreachable); the next pass will")
    return ended


def _requeue(task_id: int) -> None:
    """A task its runner never started waits again, for any runner (one conditional update:
    a runner's report that got in first wins)."""
    db.session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status == "starting")
        .values(status="waiting", runner_id=None)
    )
    db.session.commit()
    log.warning("task %s: its runner went offline before starting it; queued again", task_id)


def _end_runner_task(task_id: int) -> bool:
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    if task is None or task.status not in task_queue.ACTIVE_STATUSES:
        return False
    seconds = current_config().runner_timeout
    task_output.append_line(task_id, RUNNER_LOST.format(seconds=seconds))
    status = "stopped" if task.status == "stopping" else "error"
    tasks.change_status(task, status)
    task.message = task.message or "runner lost"
    db.session.commit()
    notifications.on_task_status(task_id, status)
    return True
