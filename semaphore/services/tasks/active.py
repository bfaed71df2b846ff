"""The global queue, for administrators: every waiting and running task of every project,
where it is (waiting in the queue, or running on a worker or a runner) and why a waiting one
waits; and stopping one. The original's /api/tasks answers from its in-memory pool; ours reads
the task table, so that every web process of every machine answers the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from semaphore.errors import NotFound, PermissionDenied
from semaphore.extensions import db
from semaphore.models import Project, Runner, Task, Template, User
from semaphore.queue.runners import ACTIVE_STATUSES
from semaphore.services import tasks
from semaphore.services.permissions import project_access

QUEUED = "queue"
RUNNING = "running"
SHOWN_STATUSES = ("waiting", *ACTIVE_STATUSES)


@dataclass(frozen=True)
class ActiveTask:
    """One task of the global queue, with what the list shows beside it."""

    task: Task
    project_name: str
    template_name: str
    app: str
    username: str | None
    runner_name: str | None
    waiting_reason: str | None

    @property
    def location(self) -> str:
        return QUEUED if self.task.status == "waiting" else RUNNING

    @property
    def since(self) -> datetime:
        """When it entered its current place: created (waiting) or started."""
        return self.task.start or self.task.created


def list_active(actor: User) -> list[ActiveTask]:
    """Every waiting and running task, oldest first (two queries and the reasons' few).

    Raises:
        PermissionDenied: the actor is not an admin.
    """
    _require_admin(actor)
    return _active(Task.status.in_(SHOWN_STATUSES))


def get_active(actor: User, task_id: int) -> ActiveTask:
    """One task of the global queue.

    Raises:
        PermissionDenied: the actor is not an admin.
        NotFound: no such task, or it is neither waiting nor running.
    """
    _require_admin(actor)
    found = _active(Task.status.in_(SHOWN_STATUSES), Task.id == task_id)
    if not found:
        raise NotFound("Task not found")
    return found[0]


def stop_active(actor: User, task_id: int) -> None:
    """Stop a task as its project's stop does (a waiting one ends at once, a running one is
    signalled); a task that has ended already is left as it is.

    Raises:
        PermissionDenied: the actor is not an admin.
        NotFound: no such task.
    """
    _require_admin(actor)
    found = db.session.execute(
        select(Task.project_id, Task.status).where(Task.id == task_id)
    ).first()
    if found is None:
        raise NotFound("Task not found")
    project_id, status = found
    if status in SHOWN_STATUSES:
        tasks.stop_task(project_access(actor, project_id), task_id, {"force": False})


def _active(*conditions) -> list[ActiveTask]:
    query = (
        select(Task, Project.name, Template.name, Template.app, User.username, Runner.name)
        .join(Project, Project.id == Task.project_id)
        .join(Template, Template.id == Task.template_id)
        .outerjoin(User, User.id == Task.user_id)
        .outerjoin(Runner, Runner.id == Task.runner_id)
        .where(*conditions)
        .order_by(Task.id)
    )
    rows = db.session.execute(query).all()
    reasons = tasks.waiting_reasons([row[0] for row in rows])
    return [
        ActiveTask(task, project, template, app, username, runner, reasons.get(task.id))
        for task, project, template, app, username, runner in rows
    ]


def counts(rows: Sequence[ActiveTask]) -> dict[str, int]:
    """How many are queued and how many run."""
    queued = sum(1 for row in rows if row.location == QUEUED)
    return {QUEUED: queued, RUNNING: len(rows) - queued}


def _require_admin(actor: User) -> None:
    if not actor.admin:
        raise PermissionDenied("Only administrators can see the global queue")
