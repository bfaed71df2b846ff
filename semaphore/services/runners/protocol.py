"""The runner protocol (/api/internal/runners): a runner registers with a registration token,
then with its own token polls for jobs, reports their progress and unregisters.

Facts kept from the original (api/runners/runners.go, services/runners/types.go):
registration answers `{"token"}` or 400 "Invalid registration token" (the setting unset
counts as wrong) and the new runner is inactive until an admin activates it; a missing
X-Runner-Token is 401 "Invalid token", an unknown one 404 "Runner not found"; the poll's
`new_jobs` are the runner's tasks in `starting` and `CurrentJobs` its other unfinished ones;
a report's jobs that are not this runner's (or not found) are skipped; unregistering deletes
the runner.

Ours: a runner an admin created unregistered registers with its own one-time registration
token, which is then cleared; tokens are stored as SHA-256 digests, and the global token is
compared in constant time; a runner's report touches only tasks assigned to it and not yet
finished; the poll records when the runner was last seen (`touched`).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from typing import Any

import redis
from sqlalchemy import select, update

from semaphore.config import current_config
from semaphore.errors import (
    NotAuthenticated,
    NotFound,
    SemaphoreError,
    ServiceUnavailable,
    ValidationError,
)
from semaphore.extensions import db
from semaphore.models import FINISHED_STATUSES, Runner, Task, utcnow
from semaphore.queue import dispatch as task_queue
from semaphore.queue import runners as runner_queue
from semaphore.schemas.base import parse
from semaphore.schemas.runners import RunnerProgressIn, RunnerRegistrationIn
from semaphore.security.tokens import digest, new_runner_token
from semaphore.services import audit, events, tasks
from semaphore.services.runners.jobs import job_data
from semaphore.services.tasks import output as task_output

log = logging.getLogger(__name__)

INVALID_REGISTRATION = "Invalid registration token"


def register(data: Mapping[str, Any]) -> tuple[Runner, str]:
    """Register a runner; returns it and its token, which is shown only now.

    The token is either a runner's own one-time registration token (that runner gets its
    token and the registration token is used up) or the global `runner_registration_token`
    (a new global runner, inactive, with the body's webhook and max_parallel_tasks).

    Raises:
        ValidationError: a bad body, or a token that matches neither (or the setting is empty).
    """
    body = parse(RunnerRegistrationIn, data)
    given = body.registration_token
    token = new_runner_token()
    runner = _claim_registration(given, token) if given else None
    via = "runner_token"
    if runner is None:
        via = "global_token"
        if not _is_global_registration_token(given):
            raise ValidationError(INVALID_REGISTRATION)
        runner = Runner(
            webhook=body.webhook,
            max_parallel_tasks=body.max_parallel_tasks,
            tags=body.tags,
            active=False,
            token_hash=digest(token),
        )
        db.session.add(runner)
        db.session.flush()
    events.record(
        None,
        "runner",
        runner.id,
        f"Runner {runner.name or runner.id} registered",
        object_name=runner.name,
        project_id=runner.project_id,
    )
    audit.record(
        "runner_registered",
        None,
        target_type="runner",
        target_id=runner.id,
        target_name=runner.name or None,
        project_id=runner.project_id,
        details={"registration": via},
    )
    db.session.commit()
    return runner, token


def _claim_registration(given: str, token: str) -> Runner | None:
    """The runner whose one-time registration token this is, now holding `token`; None when
    no runner has it. One conditional update, so a token is used once however many
    registrations race with it."""
    hashed = digest(given)
    runner_id = db.session.scalar(select(Runner.id).where(Runner.registration_token_hash == hashed))
    if runner_id is None:
        return None
    # No RETURNING: MySQL has none, and MariaDB none for UPDATE.
    claimed = db.session.execute(
        update(Runner)
        .where(
            Runner.id == runner_id,
            Runner.registration_token_hash == hashed,
            Runner.token_hash.is_(None),
        )
        .values(token_hash=digest(token), registration_token_hash=None)
    ).rowcount
    if not claimed:
        return None
    runner = db.session.get(Runner, runner_id)
    db.session.refresh(runner)
    return runner


def _is_global_registration_token(given: str) -> bool:
    expected = current_config().runner_registration_token
    if not expected:
        return False  # registration with the global token is off
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def authenticate(token: str | None) -> Runner:
    """The runner whose token this is.

    Raises:
        NotAuthenticated: no token (401 "Invalid token").
        NotFound: no runner has this token (404 "Runner not found").
    """
    if not token:
        raise NotAuthenticated("Invalid token")
    runner = db.session.scalar(select(Runner).where(Runner.token_hash == digest(token)))
    if runner is None:
        raise NotFound("Runner not found")
    return runner


def poll(
    runner: Runner, on_status: Callable[[int, str], None] = lambda task_id, status: None
) -> dict[str, Any]:
    """The runner's state: its new jobs (with the secrets they need) and its other
    unfinished ones; marks the runner seen now and first claims the waiting tasks it may run.
    A new job that cannot be prepared (a secret sealed with another access_key_encryption)
    ends `error` with a line saying why, and `on_status` is called for it after the commit;
    the rest of the poll is answered."""
    runner.touched = utcnow()
    db.session.commit()
    if runner.active:
        _take_jobs(runner)
    assigned = db.session.scalars(
        select(Task)
        .where(Task.runner_id == runner.id, Task.status.in_(task_queue.ACTIVE_STATUSES))
        .order_by(Task.id)
    ).all()
    access_keys: dict[str, dict[str, Any]] = {}
    new_jobs, failed = [], []
    for task in assigned:
        if task.status != "starting":
            continue
        try:
            new_jobs.append(job_data(task, access_keys))
        except SemaphoreError as exc:
            task_output.append_line(task.id, f"Error: the job could not be prepared: {exc}")
            if tasks.change_status(task, "error"):
                failed.append(task.id)
    if failed:
        db.session.commit()
        for task_id in failed:
            on_status(task_id, "error")
    current = [
        {"id": task.id, "status": task.status}
        for task in assigned
        if task.status not in ("starting", *FINISHED_STATUSES)
    ]
    return {
        "CurrentJobs": current,
        "new_jobs": new_jobs,
        "access_keys": access_keys,
        "active": runner.active,
        "cleaning_requested": runner.cleaning_requested,
    }


def _take_jobs(runner: Runner) -> None:
    """Claim the waiting tasks this runner may run, as many as it has room for, oldest first,
    under the same limits as a worker's claims."""
    running = runner_queue.running_counts([runner.id]).get(runner.id, 0)
    free = runner_queue.room(runner, running)
    if free == 0:
        return
    try:
        for task_id in runner_queue.candidates(runner):
            if task_queue.claim(task_id, runner_id=runner.id):
                free -= 1
                if free == 0:
                    break
    except redis.RedisError as exc:
        # The claims' locks live in Redis; the runner asks again in a second.
        log.warning("runner %s: no jobs claimed (%s)", runner.id, exc)
    db.session.expire(runner)


def report(
    runner: Runner,
    data: Mapping[str, Any],
    on_status: Callable[[int, str], None] = lambda task_id, status: None,
) -> None:
    """Apply a runner's report: each job's output lines (with the runner's times), then its
    status through the tasks' guard, and its commit. Jobs that are not this runner's
    unfinished tasks are skipped. `on_status(task_id, status)` is called for each status
    applied, after the commit (the notifications).

    Raises:
        ValidationError: a bad body.
    """
    body = parse(RunnerProgressIn, data)
    applied: list[tuple[int, str]] = []
    for job in body.jobs:
        task = db.session.scalar(
            select(Task).where(Task.id == job.id, Task.runner_id == runner.id).with_for_update()
        )
        if task is None or task.status in FINISHED_STATUSES:
            continue
        if job.log_records:
            task_output.store_lines(
                task.id,
                task_output.next_seq(task.id),
                [(record.time, record.message) for record in job.log_records],
                project_id=task.project_id,
            )
        if job.commit is not None:
            task.commit_hash, task.commit_message = job.commit.hash, job.commit.message
        status = tasks.ending_status(task, job.status) if job.status else None
        if status and tasks.change_status(task, status):
            applied.append((task.id, status))
    db.session.commit()
    for task_id, status in applied:
        on_status(task_id, status)
    if any(status in FINISHED_STATUSES for _, status in applied):
        _dispatch_waiting()


def _dispatch_waiting() -> None:
    """A finished task may free room for waiting ones (as a worker does after its task)."""
    try:
        task_queue.dispatch_waiting()
    except ServiceUnavailable:
        log.warning("waiting tasks not dispatched (Redis unreachable); the scheduler will")


def unregister(runner: Runner) -> None:
    """Delete the runner (as the original); its token stops working."""
    events.record(
        None,
        "runner",
        runner.id,
        f"Runner {runner.name or runner.id} unregistered",
        object_name=runner.name,
        project_id=runner.project_id,
    )
    db.session.delete(runner)
    db.session.commit()
