"""Starting tasks: from the API and pages (a user's run), and from schedules and integrations
(automated runs), and a build's deploys. Each is stored `waiting` with its event, and woken at
once when the limits let it start.

Like the package, importable idle by the scheduler: what only starting a task needs (schemas,
survey rules, sealing) is imported by the functions the first time one runs (issue 17).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from semaphore import broker
from semaphore.errors import ServiceUnavailable, ValidationError
from semaphore.extensions import db
from semaphore.models import (
    Inventory,
    Task,
    Template,
)
from semaphore.queue import dispatch as task_queue
from semaphore.queue import publish
from semaphore.services import events
from semaphore.services import validation as v
from semaphore.services.permissions import RUN_TASKS, ProjectAccess
from semaphore.services.references import reference, referenced
from semaphore.services.tasks import builds
from semaphore.services.tasks.params import check_params

log = logging.getLogger(__name__)


def create_task(access: ProjectAccess, data: Mapping[str, Any]) -> Task:
    """Store a `waiting` task and wake a worker (task runners and up).

    Raises:
        ValidationError: bad fields, or a template/inventory outside the project.
    """
    return create_task_with_context(access, data)[0]


def create_task_with_context(
    access: ProjectAccess, data: Mapping[str, Any]
) -> tuple[Task, Template, str | None]:
    """`create_task`, with what an answer shows beside the task (as `task_context`): its
    template and the name of the user who started it. None of them is read back after the
    commit: nothing in a new task is filled in by the database.

    Raises:
        ValidationError: bad fields, or a template/inventory outside the project.
    """
    from semaphore.schemas.base import parse
    from semaphore.schemas.tasks import TaskIn

    access.require(RUN_TASKS)
    v.require_mapping(data)
    template = referenced(
        data, "template_id", Template, access.project_id, "Template", required=True
    )
    body = parse(TaskIn, data)
    environment, secret = _answers(template, body.environment, body.secret)
    task = Task(
        template_id=template.id,
        project_id=access.project_id,
        status="waiting",
        debug=body.debug,
        dry_run=body.dry_run,
        diff=body.diff,
        playbook=body.playbook,
        environment=environment,
        limit=body.limit,
        git_branch=body.git_branch or None,
        message=body.message,
        arguments=body.arguments,
        inventory_id=reference(data, "inventory_id", Inventory, access.project_id, "Inventory"),
        build_task_id=reference(data, "build_task_id", Task, access.project_id, "Task"),
        # Checked out instead of the branch's head (the original binds it from the body too).
        commit_hash=body.commit_hash or None,
        params=body.params.values() if body.params is not None else None,
        secret=secret,
        user_id=access.user_id,
    )
    user_name = access.user.name if access.user is not None else None
    _queue(task, template, access=access, kept=(task, template))
    return task, template, user_name


def start_automated_task(
    template: Template,
    *,
    schedule_id: int | None = None,
    integration_id: int | None = None,
    environment: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    git_branch: str | None = None,
    message: str = "",
    arguments: list[str] | None = None,
) -> Task:
    """Queue a run of the template that no user started: a schedule's or an integration's.

    As in the original, such a task has no user; `environment` (extracted webhook values)
    becomes the task's environment, `params` its task params (checked like a user's);
    `git_branch` counts only where the template allows overriding the branch.

    Raises:
        ValidationError: params the template's app does not take, survey values it refuses.
    """
    from semaphore.schemas.tasks import MAX_MESSAGE

    if params is not None:
        check_params(params)
    given = json.dumps(dict(environment)) if environment else ""
    environment_text, secret = _answers(template, given, None)
    task = Task(
        template_id=template.id,
        project_id=template.project_id,
        status="waiting",
        environment=environment_text,
        secret=secret,
        params=dict(params) if params is not None else None,
        schedule_id=schedule_id,
        integration_id=integration_id,
        git_branch=git_branch or None,
        message=message[:MAX_MESSAGE],
        arguments=json.dumps(arguments) if arguments else None,
    )
    return _queue(task, template, integration_id=integration_id)


def _answers(
    template: Template, environment: str | None, secret: str | None
) -> tuple[str, str | None]:
    """The new task's environment text and its secret as stored (sealed; None when there is
    none): the survey answers given, checked and completed by survey.fill_answers."""
    from semaphore.services.tasks.survey import fill_answers

    environment_text, secret_text = fill_answers(template, environment, secret)
    if not secret_text:
        return environment_text, None
    # Sealing loads cryptography: a scheduler whose runs have no secret never does.
    from semaphore.services.keys import seal_secret

    return environment_text, seal_secret(secret_text)


def _queue(
    task: Task,
    template: Template,
    *,
    access: ProjectAccess | None = None,
    integration_id: int | None = None,
    kept: Sequence[object] = (),
) -> Task:
    """Store the new task as `waiting`, with its event, and wake a worker; the `kept`
    objects stay loaded past the commit (see _commit_keeping)."""
    _add(task, template, access=access, integration_id=integration_id)
    _commit_keeping(kept)
    try:
        # Woken at once when the limits let it start; otherwise when a task ends.
        task_queue.dispatch_waiting()
    except ServiceUnavailable as exc:
        # The database is the truth: the task is stored `waiting`, and the scheduler's
        # recovery sends its wake-up once Redis answers again. Answering an error here would
        # make a client that retries start it twice.
        log.warning("task %s stored; its wake-up waits for Redis: %s", task.id, exc)
    return task


def _commit_keeping(rows: Sequence[object]) -> None:
    """Commit, then expire what the session holds as a commit does, but `rows`: they stay
    loaded as this transaction wrote or read them, so that the answer built from them reads
    nothing back. Only for a session that ends with the request: a longer-lived one (the
    scheduler's) must see other processes' changes at its next read."""
    session = db.session()
    if not rows:
        session.commit()
        return
    expiring = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring
    kept = {id(row) for row in rows}
    for row in list(session.identity_map.values()):
        if id(row) not in kept:
            session.expire(row)


def _add(
    task: Task,
    template: Template,
    *,
    access: ProjectAccess | None = None,
    integration_id: int | None = None,
) -> None:
    """Add a new `waiting` task (a build's with its version) and its event to the session;
    the caller commits, then wakes a worker."""
    task.version = builds.build_version(template)
    db.session.add(task)
    db.session.flush()
    publish.task_changed(db.session(), task)
    template.tasks = (template.tasks or 0) + 1
    events.record(
        access,
        "task",
        task.id,
        f"Task ID {task.id} queued for running",
        object_name=task.playbook or "",
        project_id=task.project_id,
        integration_id=integration_id,
    )


def new_task_reason(task: Task) -> str | None:
    """Why a task just created waits, as `waiting_reasons` says, without asking the limits
    again when the dispatch after its commit woke it: its wake-up is then in flight and
    nothing keeps it from starting (what that dispatch read a moment ago)."""
    try:
        # The kept health check first: a Redis that does not answer costs its quarter of a
        # second at most (and is remembered), not the connection's timeout.
        woken = broker.reachable() and broker.connection().exists(task_queue.queued_key(task.id))
    except redis.RedisError:
        woken = False  # waiting_reasons then names Redis as the reason
    return None if woken else task_queue.waiting_reasons([task]).get(task.id)


def add_deploy(build: Task, deploy: Template) -> None:
    """A deploy task for a build that succeeded, with its survey's defaults (as scheduled and
    integration runs get them). A deploy whose survey requires an answer with no default, or
    whose defaults its survey refuses, is not started: the build's own status still stands."""
    try:
        environment, secret = _answers(deploy, "", None)
    except ValidationError as exc:
        log.warning("task %s: deploy template %s not started: %s", build.id, deploy.id, exc.message)
        return
    _add(
        Task(
            template_id=deploy.id,
            project_id=deploy.project_id,
            status="waiting",
            build_task_id=build.id,
            environment=environment,
            secret=secret,
        ),
        deploy,
    )
