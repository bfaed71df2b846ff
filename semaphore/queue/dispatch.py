"""Handing tasks to workers: enqueueing, claiming under the parallel limits, liveness.

The database holds every task's state; Redis only carries wake-ups. A task is enqueued as an RQ
job with its id; the worker that takes the job *claims* the task by moving it from `waiting` to
`starting` in one conditional UPDATE, so a task never runs twice however many jobs name it.
The limits (global and per-project max_parallel_tasks, one running task per template) are
checked and the claim made under one Redis lock, so they hold across workers and machines.
A blocked task simply stays `waiting`: whenever a task ends, and on every scheduler tick,
`dispatch_waiting` enqueues again every waiting task that has no job in flight.
"""

from __future__ import annotations

import logging

import redis
from sqlalchemy import func, select, update

from semaphore import broker
from semaphore.config import current_config
from semaphore.errors import ServiceUnavailable
from semaphore.extensions import db
from semaphore.models import Project, Task
from semaphore.queue import publish

log = logging.getLogger(__name__)

ACTIVE_STATUSES = ("starting", "waiting_confirmation", "confirmed", "running", "stopping")
RUN_JOB = "semaphore.jobs.tasks.run_task"
# A wake-up in flight; it expires so that one lost with its job is sent again.
QUEUED_MARKER_SECONDS = 300
# A running task's worker renews this key; when it lapses the worker is gone.
ALIVE_SECONDS = 10
HEARTBEAT_SECONDS = 3
DISPATCH_LOCK_SECONDS = 10


def queued_key(task_id: int) -> str:
    return broker.key("task", task_id, "queued")


def alive_key(task_id: int) -> str:
    return broker.key("task", task_id, "alive")


def stop_key(task_id: int) -> str:
    return broker.key("task", task_id, "stop")


def enqueue_task(task_id: int) -> bool:
    """Send a wake-up for the task unless one is already in flight; True when sent.

    Raises:
        ServiceUnavailable: Redis cannot be reached (the task stays `waiting` and the
            scheduler sends the wake-up once Redis is back).
    """
    try:
        if not broker.connection().set(queued_key(task_id), 1, nx=True, ex=QUEUED_MARKER_SECONDS):
            return False
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"the task queue (Redis) is unreachable: {exc}") from exc
    broker.enqueue(RUN_JOB, task_id, job_timeout=-1, result_ttl=0, failure_ttl=3600)
    return True


def dispatch_waiting() -> int:
    """Enqueue every waiting task without a wake-up in flight, oldest first."""
    waiting = db.session.scalars(select(Task.id).where(Task.status == "waiting").order_by(Task.id))
    return sum(1 for task_id in list(waiting) if enqueue_task(task_id))


def _active_count(*conditions) -> int:
    query = select(func.count()).select_from(Task).where(Task.status.in_(ACTIVE_STATUSES))
    return db.session.scalar(query.where(*conditions))


def blocked_reason(task: Task) -> str | None:
    """Why the task cannot start now, or None."""
    limit = current_config().max_parallel_tasks
    if limit and _active_count() >= limit:
        return "the global max_parallel_tasks limit is reached"
    if _active_count(Task.template_id == task.template_id):
        return "another task of this template is running"
    project_limit = db.session.scalar(
        select(Project.max_parallel_tasks).where(Project.id == task.project_id)
    )
    if project_limit and _active_count(Task.project_id == task.project_id) >= project_limit:
        return "the project's max_parallel_tasks limit is reached"
    return None


def claim(task_id: int) -> bool:
    """Move the task from waiting to starting when no limit blocks it; True when claimed."""
    connection = broker.connection()
    connection.delete(queued_key(task_id))
    with connection.lock(
        broker.key("dispatch"), timeout=DISPATCH_LOCK_SECONDS, blocking_timeout=30
    ):
        db.session.expire_all()
        task = db.session.get(Task, task_id)
        if task is None or task.status != "waiting" or blocked_reason(task):
            db.session.rollback()
            return False
        # Alive before active: the reaper never sees an active task without the key.
        connection.set(alive_key(task_id), 1, ex=ALIVE_SECONDS)
        claimed = db.session.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == "waiting")
            .values(status="starting")
        ).rowcount
        if claimed:
            db.session.expire(task)
            publish.task_changed(db.session(), task)
        db.session.commit()
    return claimed == 1


def heartbeat(task_id: int) -> bool:
    """Renew the task's liveness; True when someone asked it to stop."""
    connection = broker.connection()
    connection.set(alive_key(task_id), 1, ex=ALIVE_SECONDS)
    return bool(connection.exists(stop_key(task_id)))


def request_stop(task_id: int) -> None:
    """Tell the task's worker at once (it also reads the `stopping` status from the database,
    so a stop asked while Redis is down still arrives)."""
    try:
        broker.connection().set(stop_key(task_id), 1, ex=24 * 3600)
    except redis.RedisError as exc:
        log.warning(
            "task %s: stop signal not sent (%s); the worker reads the database", task_id, exc
        )


def forget(task_id: int) -> None:
    """Drop the task's Redis keys once it has ended (they expire on their own otherwise)."""
    try:
        broker.connection().delete(alive_key(task_id), stop_key(task_id))
    except redis.RedisError as exc:
        log.warning("task %s: keys not dropped (%s); they expire", task_id, exc)


def lapsed_tasks() -> list[int]:
    """Active tasks whose worker has not renewed their liveness key."""
    active = list(db.session.scalars(select(Task.id).where(Task.status.in_(ACTIVE_STATUSES))))
    if not active:
        return []
    pipe = broker.connection().pipeline()
    for task_id in active:
        pipe.exists(alive_key(task_id))
    return [task_id for task_id, alive in zip(active, pipe.execute(), strict=True) if not alive]
