"""Tasks: starting a template, listing and reading runs, stopping, confirming, deleting.

Status changes go through `change_status`, which applies the original's guard (finished states
are final) and writes the events the original writes.

The scheduler imports this package idle (recovery, retention): what only starting or stopping
a task needs (the schemas and survey rules, pydantic; the sealing of secrets, cryptography; the
environments and templates services, which import both) is imported by the functions that
start or stop one, the first time one runs (issue 17).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from semaphore.errors import PermissionDenied, ValidationError
from semaphore.extensions import db
from semaphore.metrics import definitions as metrics
from semaphore.models import (
    FINISHED_STATUSES,
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
from semaphore.services.references import get_in_project
from semaphore.services.tasks import builds, history
from semaphore.services.tasks import output as task_output
from semaphore.services.tasks.creation import (  # noqa: F401 - re-exported for callers
    add_deploy,
    create_task,
    create_task_with_context,
    new_task_reason,
    start_automated_task,
)
from semaphore.services.tasks.history import TaskFilter
from semaphore.services.tasks.output import OutputLine
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
        add_deploy(task, deploy)
    return True


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
