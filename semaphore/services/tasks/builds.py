"""Build and deploy templates: the version of a build's task, and the deploys a build starts.

A build template's tasks carry versions counted up from its start_version (the original's
getNextBuildVersion). When a build task ends `success`, each deploy template with `autorun`
whose build_template_id is that build template gets a task whose `build_task_id` names the
build task; a deploy task's version is the one it deploys, read through that link
(models.task.incoming_version).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select, update

from semaphore.extensions import db
from semaphore.models import FINISHED_STATUSES, Task, Template
from semaphore.models.task import incoming_version
from semaphore.queue import changes

# start_version as (prefix)(last number)(suffix), as the original splits it ("1.0." "0" "").
VERSION_PARTS = re.compile(r"(.*[^0-9])?([0-9]+)([^0-9].*)?")
NUMBER = re.compile(r"[+-]?[0-9]+")
# How many of the deploy tasks a build task started its page lists.
DEPLOYS_LISTED = 50
# How many builds a deploy's run dialog offers (the original's dialog asks for 20).
BUILDS_OFFERED = 20


def next_version(start: str, current: str) -> str:
    """The version after `current` for a build template starting at `start`: start's last
    number becomes max(start's, current's + 1) when `current` has start's prefix and suffix;
    otherwise `start` again (1.0.0 after 1.0.4 gives 1.0.5; 2.0 after 1.9 gives 2.0)."""
    parts = VERSION_PARTS.fullmatch(start)
    if parts is None:
        return start
    prefix, number, suffix = parts.group(1) or "", parts.group(2), parts.group(3) or ""
    middle = current[len(prefix) : len(current) - len(suffix)]
    fits = len(current) >= len(prefix) + len(suffix)
    if not (fits and current.startswith(prefix) and current.endswith(suffix)):
        return start
    if not NUMBER.fullmatch(middle):
        return start
    return f"{prefix}{max(int(number), int(middle) + 1)}{suffix}"


def build_version(template: Template) -> str | None:
    """The version a new task of the template gets: none unless it is a build template; its
    start_version for the first build (or after one without a version), else the version
    after its newest task's."""
    if template.type != "build" or not template.start_version:
        return None
    newest = db.session.scalar(
        select(Task.version)
        .where(Task.template_id == template.id)
        .order_by(Task.created.desc(), Task.id.desc())
        .limit(1)
    )
    return next_version(template.start_version, newest) if newest else template.start_version


def successful_builds(template: Template) -> Sequence[Task]:
    """The newest successful tasks of a deploy template's build template, which its run
    dialog offers as the version to deploy (none for other templates)."""
    if template.type != "deploy" or template.build_template_id is None:
        return ()
    return db.session.scalars(
        select(Task)
        .where(
            Task.template_id == template.build_template_id,
            Task.project_id == template.project_id,
            Task.status == "success",
        )
        .order_by(Task.id.desc())
        .limit(BUILDS_OFFERED)
    ).all()


def autorun_deploys(template: Template | None) -> Sequence[Template]:
    """The deploy templates with `autorun` that follow this build template (none for others)."""
    if template is None or template.type != "build":
        return ()
    return db.session.scalars(
        select(Template)
        .where(
            Template.project_id == template.project_id,
            Template.build_template_id == template.id,
            Template.type == "deploy",
            Template.autorun.is_(True),
        )
        .order_by(Template.id)
    ).all()


def claim_success(task: Task) -> bool:
    """Write `success` for the task unless its stored status is already final, in one
    conditional UPDATE; True when this call wrote it.

    Of two processes ending one build task at once (a runner's report sent twice, a copy of
    the task read before another process ended it), one gets True: it alone starts the
    deploys, in the same transaction as the status. The row stays locked until the caller
    commits.
    """
    statement = (
        update(Task)
        .where(Task.id == task.id, Task.status.not_in(FINISHED_STATUSES))
        .values(status="success")
        .execution_options(synchronize_session=False)
    )
    with db.session.no_autoflush:
        claimed = db.session.execute(changes.in_project(statement, task.project_id)).rowcount
    if not claimed:
        db.session.expire(task, ["status"])  # read the status the other process wrote
    return bool(claimed)


def build_links(task: Task) -> tuple[str | None, Sequence[Task]]:
    """What the task page shows of a build chain: the version a deploy task deploys (None
    when it has none), and the tasks naming this one as their build, oldest first."""
    deploys = db.session.scalars(
        select(Task)
        .where(Task.build_task_id == task.id, Task.project_id == task.project_id)
        .order_by(Task.id)
        .limit(DEPLOYS_LISTED)
    ).all()
    return incoming_version(db.session, task), deploys
