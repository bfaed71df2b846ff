"""Which tasks go to remote runners, which runner may take which, and why one waits.

A task goes to a runner when `use_remote_runner` is on (every task, as the original) or when
its template names a `runner_tag`. A runner may take it when the runner is active and online
(it polled within `runner_timeout` seconds), is global or belongs to the task's project, and
carries the template's tag, if any. Runners pull: each poll claims what the runner has room
for (services.runners.protocol), under the same limits and the same conditional claim as a
worker's (queue.dispatch.claim). A runner task that no runner can take stays `waiting`, and
`waiting_reason` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, false, func, or_, select, true

from semaphore.config import current_config
from semaphore.extensions import db
from semaphore.models import Runner, Task, Template, utcnow

ACTIVE_STATUSES = ("starting", "waiting_confirmation", "confirmed", "running", "stopping")


def needs_runner() -> ColumnElement[bool]:
    """True for a task (joined to its template) that only a runner may run."""
    if current_config().use_remote_runner:
        return true()
    return Template.runner_tag.is_not(None)


def online_since() -> datetime:
    """A runner that polled after this moment is online."""
    return utcnow() - timedelta(seconds=current_config().runner_timeout)


def may_take(runner: Runner, project_id: int, tag: str | None) -> bool:
    """Whether this runner may run a task of this project needing this tag (None: any)."""
    if runner.project_id is not None and runner.project_id != project_id:
        return False
    return tag is None or tag in (runner.tags or [])


def running_counts(runner_ids: Sequence[int]) -> dict[int, int]:
    """How many unfinished tasks each of these runners holds."""
    if not runner_ids:
        return {}
    rows = db.session.execute(
        select(Task.runner_id, func.count())
        .where(Task.runner_id.in_(runner_ids), Task.status.in_(ACTIVE_STATUSES))
        .group_by(Task.runner_id)
    ).all()
    return {runner_id: count for runner_id, count in rows}


def room(runner: Runner, running: int) -> int:
    """How many more tasks the runner takes now (its max_parallel_tasks, 0 = no limit)."""
    if not runner.max_parallel_tasks:
        return 1 << 30
    return max(runner.max_parallel_tasks - running, 0)


class RunnerRoom:
    """The online runners and what they hold, read once, to say why runner tasks wait."""

    def __init__(self) -> None:
        self.online = db.session.scalars(
            select(Runner).where(Runner.active.is_(True), Runner.touched >= online_since())
        ).all()
        self.counts = running_counts([runner.id for runner in self.online])

    def reason(self, project_id: int, tag: str | None) -> str | None:
        """Why a runner task of this project and tag waits for a runner, or None when one
        has room (it takes the task at its next poll, within a second)."""
        fitting = [runner for runner in self.online if may_take(runner, project_id, tag)]
        named = f" with tag `{tag}`" if tag else ""
        if not fitting:
            return f"no active runner{named}"
        if all(room(runner, self.counts.get(runner.id, 0)) == 0 for runner in fitting):
            return f"every active runner{named} is busy"
        return None


def runner_tags(template_ids: set[int]) -> dict[int, str | None]:
    """Each template's runner_tag."""
    if not template_ids:
        return {}
    query = select(Template.id, Template.runner_tag).where(Template.id.in_(template_ids))
    return dict(db.session.execute(query).all())


def runner_tag_of(task: Task) -> tuple[bool, str | None]:
    """Whether the task needs a runner, and its template's tag."""
    tag = runner_tags({task.template_id}).get(task.template_id)
    return current_config().use_remote_runner or tag is not None, tag


def candidates(runner: Runner) -> list[int]:
    """Waiting tasks this runner may take, oldest first (the claim checks the limits)."""
    query = (
        select(Task.id, Template.runner_tag, Task.project_id)
        .join(Template, Template.id == Task.template_id)
        .where(Task.status == "waiting", needs_runner())
        .order_by(Task.id)
    )
    if runner.project_id is not None:
        query = query.where(Task.project_id == runner.project_id)
    tags = runner.tags or []
    query = query.where(
        or_(Template.runner_tag.is_(None), Template.runner_tag.in_(tags) if tags else false())
    )
    return [row.id for row in db.session.execute(query)]


def lapsed_runner_tasks() -> list[tuple[int, str]]:
    """Unfinished tasks held by runners that stopped polling: (task id, status)."""
    rows = db.session.execute(
        select(Task.id, Task.status)
        .join(Runner, Runner.id == Task.runner_id)
        .where(
            Task.status.in_(ACTIVE_STATUSES),
            or_(Runner.touched.is_(None), Runner.touched < online_since()),
        )
        .order_by(Task.id)
    ).all()
    return [(row.id, row.status) for row in rows]
