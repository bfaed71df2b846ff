"""Publishing after commit: a change is announced only once it is in the database.

`lines_stored` and `task_changed` queue a message on the session; the session's after_commit
hook publishes them in order (queue.commit_hooks), and a rollback drops them. A Redis error
is logged and never fails the caller: followers notice the gap and read the stored lines
instead.
"""

from __future__ import annotations

from typing import Any

from redis.client import Pipeline
from sqlalchemy import event
from sqlalchemy.orm import Session

from semaphore import broker
from semaphore.models import Task
from semaphore.queue import commit_hooks
from semaphore.queue import messages as events

_PENDING = "semaphore_live_pending"


def _queue(session: Session, message: str) -> None:
    session.info.setdefault(_PENDING, []).append(message)


def lines_stored(session: Session, project_id: int, chunk: dict[str, Any]) -> None:
    """Announce a stored chunk of output lines once the session commits."""
    _queue(session, events.lines_message(project_id, chunk))


def task_changed(session: Session, task: Task) -> None:
    """Announce the task's current status, start and end once the session commits."""
    _queue(session, events.update_message(task))


def _pending_messages(session: Session) -> list[str] | None:
    return session.info.pop(_PENDING, None)


def _publish(pipeline: Pipeline, messages: list[str]) -> None:
    channel = broker.key(events.CHANNEL)
    for message in messages:
        pipeline.publish(channel, message)


def _drop_pending(session: Session, _previous_transaction=None) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Hook every ORM session (once per process): published after each commit, in the round
    trip that counts up the change counters (queue.commit_hooks)."""
    if not event.contains(Session, "after_soft_rollback", _drop_pending):
        event.listen(Session, "after_soft_rollback", _drop_pending)
    commit_hooks.add_part(
        1,
        _pending_messages,
        _publish,
        "live updates not published; followers will read the database",
    )
