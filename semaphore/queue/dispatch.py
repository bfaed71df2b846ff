"""Handing tasks to workers: enqueueing, claiming under the parallel limits, liveness.

The database holds every task's state; Redis only carries wake-ups. A waiting task that could
start now is enqueued as an RQ job with its id, once: a marker key says its wake-up is in
flight until its claim is decided. The worker that takes the job *claims* the task by moving
it from `waiting` to `starting` in one conditional UPDATE, so a task never runs twice however
many jobs name it. The project's limits (its max_parallel_tasks, one running task per
template) are checked and the claim made under the project's Redis lock, so they hold across
workers and machines while unrelated projects never wait on each other. The global
max_parallel_tasks takes no lock: a claim counts the active tasks again once its own is
committed and steps back if that passes the limit. Of two claims made at once the later count
sees both, so the limit is never passed by a task that runs.

A task that cannot start yet simply stays `waiting`, without a job: whenever a task is
created or ends, and on every scheduler tick, `dispatch_waiting` works out which waiting
tasks the limits let start, counting those already in flight, and wakes exactly those.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import redis
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from semaphore import broker
from semaphore.config import current_config
from semaphore.errors import ServiceUnavailable
from semaphore.extensions import db
from semaphore.models import Project, Task, Template
from semaphore.queue import changes, publish, runners
from semaphore.queue.runners import ACTIVE_STATUSES

log = logging.getLogger(__name__)

RUN_JOB = "semaphore.jobs.tasks.run_task"
# A wake-up in flight; it expires so that one lost with its job is sent again.
QUEUED_MARKER_SECONDS = 300
# A running task's worker renews this key; when it lapses the worker is gone.
ALIVE_SECONDS = 10
HEARTBEAT_SECONDS = 3
DISPATCH_LOCK_SECONDS = 10
# How often a claim waiting for its project's lock asks again. redis-py's default (0.1 s) made
# claims in one busy project wait in tenths of a second for a lock held a few milliseconds.
DISPATCH_LOCK_POLL_SECONDS = 0.002


def queued_key(task_id: int) -> str:
    return broker.key("task", task_id, "queued")


def alive_key(task_id: int) -> str:
    return broker.key("task", task_id, "alive")


def stop_key(task_id: int) -> str:
    return broker.key("task", task_id, "stop")


def enqueue_task(task_id: int, project_id: int) -> bool:
    """Send a wake-up for the task unless one is already in flight; True when sent. The job
    names the task's project too: its claim takes that project's lock without asking first.

    Raises:
        ServiceUnavailable: Redis cannot be reached (the task stays `waiting` and the
            scheduler sends the wake-up once Redis is back).
    """
    try:
        if not broker.connection().set(queued_key(task_id), 1, nx=True, ex=QUEUED_MARKER_SECONDS):
            return False
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"the task queue (Redis) is unreachable: {exc}") from exc
    # A finished job expires a second later rather than being deleted at once: RQ's delete
    # reads the job's executions back first (seven round trips of a short task's 35).
    broker.enqueue(RUN_JOB, task_id, project_id, job_timeout=-1, result_ttl=1, failure_ttl=3600)
    return True


def dispatch_waiting() -> int:
    """Wake a worker for each waiting task the limits let start now, oldest first, unless
    its wake-up is already in flight; returns how many were sent. Tasks for remote runners
    are left to the runners' polls.

    Raises:
        ServiceUnavailable: Redis cannot be reached.
    """
    waiting = db.session.execute(_next_of_each_template()).all()
    if not waiting:
        return 0
    room = _Room({row.project_id for row in waiting})
    # A task in flight takes its room as if started: no second task past a limit is woken
    # only to find itself blocked. Only the tasks the limits let start are asked about.
    startable = [row for row in waiting if room.take(row.template_id, row.project_id)]
    if not startable:
        return 0
    try:
        pipe = broker.connection().pipeline(transaction=False)
        for row in startable:
            pipe.exists(queued_key(row.id))
        in_flight = pipe.execute()
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"the task queue (Redis) is unreachable: {exc}") from exc
    sent = 0
    for row, flying in zip(startable, in_flight, strict=True):
        if not flying:
            sent += enqueue_task(row.id, row.project_id)
    return sent


def _next_of_each_template() -> Select:
    """The oldest waiting task of each template a worker runs, oldest first. A template runs
    one task at a time, so only that one can be next: one row per template, not one per
    waiting task (a queue of thousands is read after every job)."""
    oldest = func.min(Task.id).label("id")
    return (
        select(oldest, Task.template_id, Task.project_id)
        .join(Template, Template.id == Task.template_id)
        .where(Task.status == "waiting", ~runners.needs_runner())
        .group_by(Task.template_id, Task.project_id)
        .order_by(oldest)
    )


class _Room:
    """What the limits leave free now: the active tasks counted once, by project and template."""

    def __init__(self, project_ids: set[int]) -> None:
        active = select(Task.project_id, Task.template_id).where(Task.status.in_(ACTIVE_STATUSES))
        rows = db.session.execute(active).all()
        self.total = len(rows)
        self.templates = {row.template_id for row in rows}
        self.by_project: dict[int, int] = {}
        for row in rows:
            self.by_project[row.project_id] = self.by_project.get(row.project_id, 0) + 1
        self.limit = current_config().max_parallel_tasks
        self.project_limits = dict(
            db.session.execute(
                select(Project.id, Project.max_parallel_tasks).where(Project.id.in_(project_ids))
            ).all()
        )

    def reason(self, template_id: int, project_id: int) -> str | None:
        """Why a task of this template and project cannot start now, or None: the limits'
        one statement, for the claim and for dispatch."""
        if self.limit and self.total >= self.limit:
            return f"the global limit (max_parallel_tasks={self.limit}) is reached"
        if template_id in self.templates:
            return "another task of this template is running"
        project_limit = self.project_limits.get(project_id)
        if project_limit and self.by_project.get(project_id, 0) >= project_limit:
            return f"the project's limit (max_parallel_tasks={project_limit}) is reached"
        return None

    def take(self, template_id: int, project_id: int) -> bool:
        """True, counting the task as started, when the limits let it start."""
        if self.reason(template_id, project_id) is not None:
            return False
        self.total += 1
        self.templates.add(template_id)
        self.by_project[project_id] = self.by_project.get(project_id, 0) + 1
        return True


def _active_count() -> int:
    query = select(func.count()).select_from(Task).where(Task.status.in_(ACTIVE_STATUSES))
    return db.session.scalar(query)


def limits_reason(task: Task) -> str | None:
    """Which parallel limit keeps the task from starting now, or None."""
    return _Room({task.project_id}).reason(task.template_id, task.project_id)


def blocked_reason(task: Task) -> str | None:
    """Why the task cannot start now (a limit, or no runner for it), or None."""
    return _reasons([task]).get(task.id)


# Why a task that waits for nothing else has not started: the workers and the claims need Redis.
REDIS_DOWN = "the task queue (Redis) is unreachable; the task starts once it answers again"
AWAITING_CONFIRMATION = "waiting for someone to confirm or reject its plan"


def waiting_reasons(tasks: Sequence[Task]) -> dict[int, str]:
    """Why each of these tasks that is waiting cannot start now (those that can are left
    out), and that a task waiting for confirmation waits for it; a few queries whatever
    their number, and a ping of Redis when some could start."""
    waiting = [task for task in tasks if task.status == "waiting"]
    reasons = _reasons(waiting)
    free = [task for task in waiting if task.id not in reasons]
    if free and not broker.reachable():
        reasons.update(dict.fromkeys((task.id for task in free), REDIS_DOWN))
    for task in tasks:
        if task.status == "waiting_confirmation":
            reasons[task.id] = AWAITING_CONFIRMATION
    return reasons


def _reasons(tasks: Sequence[Task]) -> dict[int, str]:
    if not tasks:
        return {}
    room = _Room({task.project_id for task in tasks})
    tags = runners.runner_tags({task.template_id for task in tasks})
    remote_only = current_config().use_remote_runner
    runner_room: runners.RunnerRoom | None = None
    reasons: dict[int, str] = {}
    for task in tasks:
        reason = room.reason(task.template_id, task.project_id)
        tag = tags.get(task.template_id)
        if reason is None and (remote_only or tag is not None):
            runner_room = runner_room or runners.RunnerRoom()
            reason = runner_room.reason(task.project_id, tag)
        if reason is not None:
            reasons[task.id] = reason
    return reasons


def claim(task_id: int, runner_id: int | None = None, project_id: int | None = None) -> bool:
    """Move the task from waiting to starting when no limit blocks it; True when claimed.
    With `runner_id` the task is handed to that remote runner (its poll claims it); without,
    this worker runs it. Neither claims the other's kind of task. `project_id` (from the job)
    saves looking it up; the claim checks it against the task's.

    Its wake-up stays marked in flight until the claim is decided, so no second job is sent
    meanwhile. A task found blocked is woken again by the `dispatch_waiting` that follows every
    job (its marker is gone by then). A claimed task keeps its marker until it lapses: a
    dispatch that read the task as waiting just before the claim finds it in flight, instead
    of sending a second job.
    """
    connection = broker.connection()
    claimed = False
    try:
        if project_id is None:
            project_id = db.session.scalar(select(Task.project_id).where(Task.id == task_id))
        if project_id is None:
            return False
        lock = connection.lock(
            broker.key("dispatch", "project", project_id),
            timeout=DISPATCH_LOCK_SECONDS,
            sleep=DISPATCH_LOCK_POLL_SECONDS,
            blocking_timeout=30,
        )
        with lock:
            claimed = _claim_now(connection, task_id, runner_id, project_id)
        return claimed
    finally:
        db.session.rollback()
        if not claimed:
            connection.delete(queued_key(task_id))


def _claim_now(
    connection: redis.Redis, task_id: int, runner_id: int | None, project_id: int
) -> bool:
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    if task is None or task.project_id != project_id or task.status != "waiting":
        return False
    if limits_reason(task) or runners.runner_tag_of(task)[0] != (runner_id is not None):
        return False
    if runner_id is None:
        # Alive before active: the reaper never sees an active task without the key. A
        # runner's liveness is its polls instead (queue.runners.lapsed_runner_tasks).
        connection.set(alive_key(task_id), 1, ex=ALIVE_SECONDS)
    claimed = db.session.execute(
        changes.in_project(
            update(Task)
            .where(Task.id == task_id, Task.status == "waiting")
            .values(status="starting", runner_id=runner_id),
            project_id,
        )
    ).rowcount
    if not claimed:
        db.session.commit()  # the change counters' bookkeeping, if any
        return False
    limit = current_config().max_parallel_tasks
    if limit:
        db.session.commit()
        if _active_count() > limit:
            # Another project's claim got in at the same moment: this one steps back.
            db.session.execute(
                changes.in_project(
                    update(Task)
                    .where(Task.id == task_id, Task.status == "starting")
                    .values(status="waiting"),
                    project_id,
                )
            )
            db.session.commit()
            connection.delete(alive_key(task_id))
            return False
    # What the UPDATE wrote, told to the loaded task rather than read back: the announcement
    # goes out with the commit (after the limit's check, when there is one).
    set_committed_value(task, "status", "starting")
    set_committed_value(task, "runner_id", runner_id)
    publish.task_changed(db.session(), task)
    db.session.commit()
    return True


def warm_up() -> None:
    """The claim's and dispatch's queries, once (see jobs.tasks.warm_up); nothing is changed."""
    db.session.scalar(select(Task.project_id).where(Task.id == 0))
    nothing = Task(id=0, template_id=0, project_id=0, status="waiting")
    limits_reason(nothing)
    runners.runner_tag_of(nothing)
    _active_count()
    db.session.execute(_next_of_each_template()).all()


def heartbeat(task_id: int) -> bool:
    """Renew the task's liveness; True when someone asked it to stop."""
    pipe = broker.connection().pipeline(transaction=False)  # one round trip for both
    pipe.set(alive_key(task_id), 1, ex=ALIVE_SECONDS)
    pipe.exists(stop_key(task_id))
    return bool(pipe.execute()[1])


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
    """Active tasks whose worker has not renewed their liveness key (a runner's tasks have
    none: see queue.runners.lapsed_runner_tasks)."""
    active = list(
        db.session.scalars(
            select(Task.id).where(Task.status.in_(ACTIVE_STATUSES), Task.runner_id.is_(None))
        )
    )
    if not active:
        return []
    pipe = broker.connection().pipeline()
    for task_id in active:
        pipe.exists(alive_key(task_id))
    return [task_id for task_id, alive in zip(active, pipe.execute(), strict=True) if not alive]
