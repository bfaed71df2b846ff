"""One task per run dialog: each dialog carries a submission id, and a second submission of
the same dialog (a double click, a form sent again) answers the task the first one created
instead of creating another. The ids live in Redis for an hour; the first submission claims
its id before it creates the task (SET NX), so two arriving together cannot both create one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import redis

from semaphore import broker
from semaphore.errors import Conflict
from semaphore.models import Task
from semaphore.services import tasks
from semaphore.services.permissions import ProjectAccess

KEPT_SECONDS = 3600
PENDING = b"pending"
# What a dialog sends: 32 hex digits (uuid4().hex); anything else is not an id of ours.
SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")


def create_once(
    access: ProjectAccess, data: Mapping[str, Any], submission: str | None
) -> tuple[Task, bool]:
    """Create the task, unless this submission created one already; returns the task and
    whether it is new. Without a (well-formed) submission id, every call creates a task.

    With Redis unreachable the task is created all the same (stored waiting, as every task
    then is): the dialog's button, disabled while it is sent, is the only guard left.

    Raises:
        Conflict: the same submission is being created by another request right now.
        And whatever tasks.create_task raises (the submission is then free again).
    """
    if not submission or not SUBMISSION_ID.fullmatch(submission):
        return tasks.create_task(access, data), True
    key = broker.key("submission", access.project_id, access.user_id, submission)
    connection = broker.connection()
    try:
        claimed = connection.set(key, PENDING, nx=True, ex=KEPT_SECONDS)
        earlier = None if claimed else connection.get(key)
    except redis.RedisError:
        return tasks.create_task(access, data), True
    if not claimed:
        return _earlier(access, earlier), False
    try:
        task = tasks.create_task(access, data)
    except BaseException:
        _forget(key)
        raise
    try:
        connection.set(key, str(task.id), ex=KEPT_SECONDS)
    except redis.RedisError:
        pass  # the task exists; a repeat within the hour would then be refused, not doubled
    return task, True


def _earlier(access: ProjectAccess, stored: bytes | None) -> Task:
    if stored is None or stored == PENDING or not stored.isdigit():
        raise Conflict("This run was sent already and is being queued")
    return tasks.get_task(access, int(stored))


def _forget(key: str) -> None:
    try:
        broker.connection().delete(key)
    except redis.RedisError:
        pass
