"""Tasks: starting a template, listing and reading runs, stopping, confirming, deleting.

Status changes go through `change_status`, which applies the original's guard (finished states
are final) and writes the events the original writes.

The scheduler imports this package idle (recovery, retention): what only starting or stopping
a task needs (the schemas and survey rules, pydantic; the sealing of secrets, cryptography; the
environments and templates services, which import both) is imported by the functions that
start or stop one, the first time one runs (issue 17).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import redis
from sqlalchemy import select, update

from semaphore import broker
from semaphore.errors import PermissionDenied, ServiceUnavailable, ValidationError
from semaphore.extensions import db
from semaphore.metrics import definitions as metrics
from semaphore.models import (
    FINISHED_STATUSES,
    Inventory,
    Task,
    Template,
    User,
    utcnow,
)
from semaphore.queue import changes, publish
from semaphore.queue import dispatch as task_queue
from semaphore.services import events, listing
from semaphore.services import validation as v
from semaphore.services.permissions import RUN_TASKS, ProjectAccess
from semaphore.services.references import get_in_project, reference, referenced
from semaphore.services.tasks import builds, history
from semaphore.services.tasks import output as task_output
from semaphore.services.tasks.history import TaskFilter
from semaphore.services.tasks.output import OutputLine
from semaphore.services.tasks.params import check_params
from semaphore.services.tasks.retention import delete_tasks

if TYPE_CHECKING:
    from semaphore.schemas.listing import Page

log = logging.getLogger(__name__)

TASK_LIST_LIMIT = 1000
LAST_TASKS_LIMIT = 200
# Transitions the original ignores (REFERENCE.md, task lifecycle: guard).
IGNORED_TRANSITIONS = {
    ("confirmed", "waiting_confirmation"),
    ("running", "waiting"),
    ("stopping", "waiting"),
    ("stopping", "running"),
}


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


def list_tasks(
    access: ProjectAccess,
    template_id: int | None = None,
    limit: int = TASK_LIST_LIMIT,
    *,
    page: Page | None = None,
    filters: TaskFilter | None = None,
) -> listing.Rows[tuple[Task, Template, str | None]]:
    """The project's newest tasks (at most `limit`), with their template and user name; only
    those matching `filters` (status, template, user, days; history.TaskFilter) when given.

    One page of them when `page` is given: pages reach every task, past the original's cap of
    1000, since a page is bounded by its own size; `limit` is then ignored.
    """
    query = (
        select(Task, Template, User.name)
        .join(Template, Template.id == Task.template_id)
        .outerjoin(User, User.id == Task.user_id)
        .where(Task.project_id == access.project_id)
        .order_by(Task.created.desc(), Task.id.desc())
    )
    if template_id is not None:
        query = query.where(Task.template_id == template_id)
    if filters:
        query = history.apply_filter(query, filters)
    if page is None:
        query = query.limit(min(max(limit, 1), TASK_LIST_LIMIT))
    return listing.rows(query, page, scalars=False)


def get_task(access: ProjectAccess, task_id: int) -> Task:
    return get_in_project(Task, task_id, access.project_id, "Task")


def task_context(task: Task) -> tuple[Template, str | None]:
    """The task's template and the name of the user who started it (None when no user did)."""
    template = db.session.get(Template, task.template_id)
    user = db.session.get(User, task.user_id) if task.user_id is not None else None
    return template, user.name if user is not None else None


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
    return None if woken else waiting_reasons([task]).get(task.id)


def run_variables(task: Task) -> tuple[dict[str, Any], bool]:
    """The extra variables the task's run received (True), or, before it has started, those it
    would receive now (False). Secrets are never among them."""
    if task.run_variables:
        received = v.parse_json_text(task.run_variables, default=None)
        if isinstance(received, dict):
            return received, True
    from semaphore.services import environments, templates

    template = db.session.get(Template, task.template_id)
    own = v.parse_json_text(task.environment, default={}) if task.environment else {}
    merged = environments.run_environment(
        templates.environment_ids(template),
        own if isinstance(own, dict) else {},
        with_secrets=False,
    )
    return merged.variables, False


def stream_output(
    access: ProjectAccess, task_id: int, after: int = 0, limit: int | None = None
) -> Iterator[task_output.LineBlock]:
    """The task's output lines after line number `after`, in order (at most `limit`), a chunk
    of lines at a time: a whole log is never held in memory.

    Raises:
        NotFound: not a task of this project (checked before the first block).
    """
    get_task(access, task_id)
    return task_output.iter_blocks(task_id, after, limit)


OUTPUT_PAGE_LIMIT = 5000
SEARCH_LIMIT = 500
MAX_SEARCH = 200


def output_tail(access: ProjectAccess, task_id: int, limit: int) -> list[OutputLine]:
    """The task's last `limit` lines (capped at OUTPUT_PAGE_LIMIT)."""
    get_task(access, task_id)
    return task_output.tail(task_id, min(max(limit, 1), OUTPUT_PAGE_LIMIT))


def output_before(access: ProjectAccess, task_id: int, before: int, limit: int) -> list[OutputLine]:
    """Up to `limit` lines just before line number `before` (capped at OUTPUT_PAGE_LIMIT)."""
    get_task(access, task_id)
    return task_output.read_before(task_id, before, min(max(limit, 1), OUTPUT_PAGE_LIMIT))


def search_output(
    access: ProjectAccess, task_id: int, query: str, after: int = 0, limit: int = 100
) -> tuple[list[OutputLine], int | None]:
    """Lines of the task's output containing `query` (any case, colours ignored), paged.

    Returns the matches after line `after` (at most `limit`, capped at SEARCH_LIMIT) and the
    `after` of the next page, or None on the last page.

    Raises:
        ValidationError: an empty or over-long query.
    """
    get_task(access, task_id)
    if not isinstance(query, str) or not query.strip():
        raise ValidationError("Enter something to search for", "q")
    if len(query) > MAX_SEARCH:
        raise ValidationError(f"The search may be at most {MAX_SEARCH} characters", "q")
    return task_output.search_lines(task_id, query, max(after, 0), min(max(limit, 1), SEARCH_LIMIT))


def ending_status(task: Task, status: str) -> str:
    """The final status a run's outcome gives this task: a run that ends, however it ends,
    after a stop was asked ends `stopped` (a worker's and a runner's jobs alike)."""
    if status in FINISHED_STATUSES and task.status == "stopping":
        return "stopped"
    return status


def change_status(task: Task, status: str, *, user: User | None = None) -> bool:
    """Apply a status change as the original's guard allows; True when applied.

    The caller commits. Finished states are final. A build task's `success` also adds a
    `waiting` task of each of its autorun deploy templates, committed with the status (and
    woken, as every waiting task, once the caller's worker or report dispatches).
    """
    if task.status == status or task.status in FINISHED_STATUSES:
        return False
    if (task.status, status) in IGNORED_TRANSITIONS:
        return False
    template = db.session.get(Template, task.template_id)
    deploys = builds.autorun_deploys(template) if status == "success" else ()
    if deploys and not builds.claim_success(task):
        return False  # another process ended this build first, and started its deploys
    task.status = status
    name = template.name if template else ""
    first_start = status == "running" and task.start is None
    app = template.app if template else ""
    if first_start:
        task.start = utcnow()
        metrics.task_started(app, task.created, task.start)
    elif status in FINISHED_STATUSES:
        task.end = utcnow()
        task.secret = None  # the run's secret values are not kept once it is over
        metrics.task_finished(app, status, task.start, task.end)
    publish.task_changed(db.session(), task)
    if first_start:
        description = f"Task ID {task.id} ({name}) is running"
    elif status in FINISHED_STATUSES:
        description = f"Task ID {task.id} ({name}) finished - {status.upper()}"
    else:
        return True
    events.record(
        None,
        "task",
        task.id,
        description,
        object_name=task.playbook,
        project_id=task.project_id,
        user=user,
    )
    for deploy in deploys:
        _add_deploy(task, deploy)
    return True


def _add_deploy(build: Task, deploy: Template) -> None:
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


def waiting_reasons(rows: Sequence[Task]) -> dict[int, str]:
    """Why each waiting task among these cannot start yet (the queue's one rule)."""
    return task_queue.waiting_reasons(rows)


def stop_task(access: ProjectAccess, task_id: int, data: Mapping[str, Any]) -> Task:
    """Stop a task: a waiting one ends `stopped` at once; a running one is signalled."""
    access.require(RUN_TASKS)
    force = _force(data)
    task = get_task(access, task_id)
    signal = _stop(access, task, force)
    db.session.commit()
    if signal:
        task_queue.request_stop(task.id)
    return task


def stop_template_tasks(
    access: ProjectAccess, template_id: int, data: Mapping[str, Any] | None
) -> list[Task]:
    """Stop every unfinished task of a template, waiting ones included (the contract's
    `stop_all_tasks`); returns them.

    Raises:
        PermissionDenied, NotFound (no such template here), ValidationError (bad body).
    """
    access.require(RUN_TASKS)
    force = _force(data if data is not None else {})
    get_in_project(Template, template_id, access.project_id, "Template")
    unfinished = db.session.scalars(
        select(Task)
        .where(Task.template_id == template_id, Task.status.not_in(FINISHED_STATUSES))
        .order_by(Task.id)
    ).all()
    signal = [task.id for task in unfinished if _stop(access, task, force)]
    db.session.commit()
    for task_id in signal:
        task_queue.request_stop(task_id)
    return list(unfinished)


def _force(data: Mapping[str, Any]) -> bool:
    """A stop body's `force`.

    Raises:
        ValidationError: a body StopIn refuses.
    """
    from semaphore.schemas.base import parse
    from semaphore.schemas.tasks import StopIn

    return parse(StopIn, data).force


def _stop(access: ProjectAccess, task: Task, force: bool) -> bool:
    """Stop one task: a waiting task is `stopped` at once, an active one becomes `stopping`.

    The caller commits, then tells the worker when this returns True.
    """
    if task.status in FINISHED_STATUSES:
        return False
    if task.status == "waiting" or (force and task.status not in task_queue.ACTIVE_STATUSES):
        # Conditional, so a worker claiming it at this instant cannot also start it.
        stopped = db.session.execute(
            changes.in_project(
                update(Task)
                .where(Task.id == task.id, Task.status == "waiting")
                .values(status="stopping"),
                task.project_id,
            )
        ).rowcount
        db.session.expire(task)
        if stopped:
            change_status(task, "stopped", user=access.user)
            return False
    change_status(task, "stopping", user=access.user)
    return True


def confirm_task(access: ProjectAccess, task_id: int) -> Task:
    """Let a terraform task waiting for confirmation apply its plan."""
    return _answer_confirmation(access, task_id, "confirmed")


def reject_task(access: ProjectAccess, task_id: int) -> Task:
    """Refuse a terraform plan waiting for confirmation: the task ends `rejected`, unapplied."""
    return _answer_confirmation(access, task_id, "rejected")


def _answer_confirmation(access: ProjectAccess, task_id: int, status: str) -> Task:
    """Confirm or reject a task waiting for confirmation (task runners and up).

    Raises:
        ValidationError: the task is not waiting for confirmation.
    """
    access.require(RUN_TASKS)
    task = get_task(access, task_id)
    if task.status != "waiting_confirmation":
        raise ValidationError("Task is not waiting for confirmation")
    change_status(task, status, user=access.user)
    db.session.commit()
    return task


def delete_task(access: ProjectAccess, task_id: int) -> None:
    """Remove a finished task and its output (system admins only, as the original)."""
    if not access.is_admin:
        raise PermissionDenied("Only administrators may delete task records")
    task = get_task(access, task_id)
    if task.status not in FINISHED_STATUSES and task.status != "waiting":
        raise ValidationError("An active task cannot be deleted")
    delete_tasks([task.id])
    db.session.commit()
