"""Publishing after commit: a change is announced only once it is in the database.

`lines_stored` and `task_changed` queue a message on the session; the session's after_commit
hook publishes them in order, and a rollback drops them. A Redis error is logged and never
fails the caller: followers notice the gap and read the stored lines instead.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from semaphore import broker
from semaphore.models import Task
from semaphore.queue import messages as events

log = logging.getLogger(__name__)
_PENDING = "semaphore_live_pending"


def _queue(session: Session, message: str) -> None:
    session.info.setdefault(_PENDING, []).append(message)


def lines_stored(session: Session, project_id: int, chunk: dict[str, Any]) -> None:
    """Announce a stored chunk of output lines once the session commits."""
    _queue(session, events.lines_message(project_id, chunk))


def task_changed(session: Session, task: Task) -> None:
    """Announce the task's current status, start and end once the session commits."""
    _queue(session, events.update_message(task))


def _publish_pending(session: Session) -> None:
    messages = session.info.pop(_PENDING, None)
    if not messages:
        return
    try:
        pipeline = broker.connection().pipeline(transaction=False)
        for message in messages:
            pipeline.publish(broker.key(events.CHANNEL), message)
        pipeline.execute()
    except redis.RedisError as exc:
        log.warning("live updates not published (%s); followers will read the database", exc)


def _drop_pending(session: Session, _previous_transaction=None) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Hook every ORM session (once per process)."""
    if not event.contains(Session, "after_commit", _publish_pending):
        event.listen(Session, "after_commit", _publish_pending)
        event.listen(Session, "after_soft_rollback", _drop_pending)
