"""What a commit tells Redis goes in one round trip, after the commit.

The change counters it counts up (queue.changes) and the live messages it announces
(queue.publish) are sent in one pipeline, counters first: a follower that reacts to a message
by reading a list finds the counter already moved. A Redis error is logged and never fails the
committer (each part says what its loss means).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from redis.client import Pipeline
from sqlalchemy import event
from sqlalchemy.orm import Session

from semaphore import broker

log = logging.getLogger(__name__)

# Takes (pops) what the committed session has pending for Redis; None when nothing.
Take = Callable[[Session], Any]
# Adds the commands for what `Take` returned.
Add = Callable[[Pipeline, Any], None]
_parts: list[tuple[int, Take, Add, str]] = []


def add_part(order: int, take: Take, add: Add, lost: str) -> None:
    """Send `add`'s commands after every commit that has something pending (lower `order`
    first); `lost` says in the log what a failure means. Once per part and process."""
    if any(part[1] is take for part in _parts):
        return
    _parts.append((order, take, add, lost))
    _parts.sort(key=lambda part: part[0])
    if not event.contains(Session, "after_commit", _send):
        event.listen(Session, "after_commit", _send)


def _send(session: Session) -> None:
    pending = [(add, lost, found) for _, take, add, lost in _parts if (found := take(session))]
    if not pending:
        return
    try:
        pipeline = broker.connection().pipeline(transaction=False)
        for add, _, found in pending:
            add(pipeline, found)
        pipeline.execute()
    except redis.RedisError as exc:
        log.warning("%s (%s)", "; ".join(lost for _, lost, _ in pending), exc)
