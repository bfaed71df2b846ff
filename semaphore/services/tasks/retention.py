"""Task retention: finished tasks are deleted with their output once there are too many of them
or they are too old; and what a project's tasks take up.

The scheduler runs `run_pass` every PASS_SECONDS. Its rules are read afresh each pass:
* `max_tasks_per_template` (the original's): the newest N finished tasks of each template stay;
* `task_retention_days` (ours): finished tasks that ended more than N days ago go. A project's
  own `task_retention_days` wins over the global one (0 keeps its tasks, None takes the global).

Only finished tasks are ever deleted: waiting and running ones, and whatever they write, are
never touched. The work goes BATCH tasks (OUTPUT_BATCH output rows) per statement with a commit
after each, so no transaction holds a lock for long: SQLite has one writer at a time, and a
running task's next output batch waits for whatever write is in progress.

`delete_tasks` is the one rule for what goes with a task: deleting a task or a template uses it
too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    Select,
    and_,
    cast,
    delete,
    func,
    select,
    update,
)

from semaphore.config import Config, current_config
from semaphore.extensions import db
from semaphore.models import FINISHED_STATUSES, Project, Task, TaskOutputChunk, utcnow
from semaphore.services.permissions import ProjectAccess
from semaphore.services.tasks import output as task_output

log = logging.getLogger(__name__)

PASS_SECONDS = 60.0
BATCH = 500
# An output row holds up to output.CHUNK_LINES lines: fewer of them per statement.
OUTPUT_BATCH = 100
FINISHED = Task.status.in_(FINISHED_STATUSES)


def delete_tasks(task_ids: Sequence[int] | Select) -> None:
    """Remove these tasks with their output; deploys built on them lose the link (the caller
    checks that none is active, and commits)."""
    task_output.delete_output(task_ids)
    db.session.execute(
        update(Task).where(Task.build_task_id.in_(task_ids)).values(build_task_id=None)
    )
    db.session.execute(delete(Task).where(Task.id.in_(task_ids)))


def run_pass(now: datetime | None = None) -> int:
    """Delete the finished tasks the retention settings no longer keep; returns how many."""
    deleted = 0
    for doomed in _rules(current_config(), now or utcnow()):
        deleted += _delete_where(doomed)
    if deleted:
        log.info("retention: %d finished tasks deleted", deleted)
    return deleted


def _rules(config: Config, now: datetime) -> Iterator[ColumnElement[bool]]:
    """For each rule in effect, which finished tasks it deletes (read as the pass gets there)."""
    if config.max_tasks_per_template:
        yield from _older_than_newest(config.max_tasks_per_template)
    for days, projects in _retention_periods(config.task_retention_days):
        yield and_(Task.end < now - timedelta(days=days), Task.project_id.in_(projects))


def _older_than_newest(keep: int) -> Iterator[ColumnElement[bool]]:
    """Per template with more finished tasks than `keep`: those before its newest `keep`."""
    crowded = (
        select(Task.template_id)
        .where(FINISHED)
        .group_by(Task.template_id)
        .having(func.count() > keep)
    )
    for template_id in db.session.scalars(crowded).all():
        oldest_kept = db.session.scalar(
            select(Task.id)
            .where(FINISHED, Task.template_id == template_id)
            .order_by(Task.id.desc())
            .offset(keep - 1)
            .limit(1)
        )
        if oldest_kept is not None:
            yield and_(Task.template_id == template_id, Task.id < oldest_kept)


def _retention_periods(global_days: int) -> Iterator[tuple[int, Select]]:
    """(days, the query of the projects keeping finished tasks that long), each period in use."""
    if global_days:
        yield global_days, select(Project.id).where(Project.task_retention_days.is_(None))
    own = select(Project.task_retention_days).where(Project.task_retention_days > 0).distinct()
    for days in db.session.scalars(own).all():
        yield days, select(Project.id).where(Project.task_retention_days == days)


def _delete_where(doomed: ColumnElement[bool]) -> int:
    """Delete the finished tasks matching `doomed`, BATCH at a time in id order (each batch
    starts where the last one ended); returns how many."""
    deleted = last_id = 0
    while task_ids := db.session.scalars(
        select(Task.id).where(FINISHED, doomed, Task.id > last_id).order_by(Task.id).limit(BATCH)
    ).all():
        _delete_output(task_ids)
        delete_tasks(task_ids)
        db.session.commit()
        deleted += len(task_ids)
        if len(task_ids) < BATCH:
            break
        last_id = task_ids[-1]
    return deleted


def _delete_output(task_ids: Sequence[int]) -> None:
    """The tasks' output rows, OUTPUT_BATCH per statement and commit."""
    batch = select(TaskOutputChunk.id).where(TaskOutputChunk.task_id.in_(task_ids))
    statement = delete(TaskOutputChunk).where(
        TaskOutputChunk.id.in_(batch.limit(OUTPUT_BATCH).scalar_subquery())
    )
    while True:
        removed = db.session.execute(
            statement, execution_options={"synchronize_session": False}
        ).rowcount
        db.session.commit()
        if removed < OUTPUT_BATCH:
            return


@dataclass(frozen=True)
class TaskStorage:
    """What a project's tasks take up: how many there are and their stored output's bytes."""

    tasks: int
    output_bytes: int


def task_storage(access: ProjectAccess) -> TaskStorage:
    """The project's task count and the size of its stored output (two aggregate queries)."""
    project_id = access.project_id
    count = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.project_id == project_id)
    )
    size = db.session.scalar(
        select(func.coalesce(func.sum(_byte_length(TaskOutputChunk.output)), 0))
        .join(Task, Task.id == TaskOutputChunk.task_id)
        .where(Task.project_id == project_id)
    )
    return TaskStorage(tasks=count or 0, output_bytes=int(size or 0))


def _byte_length(column):
    # PostgreSQL reads a stored text's size without decompressing it; SQLite has no
    # octet_length (before 3.43) and counts the bytes of the text read as a blob.
    if db.session.get_bind().dialect.name == "sqlite":
        return func.length(cast(column, LargeBinary))
    return func.octet_length(column)
