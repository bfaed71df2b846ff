"""This process's copy of the change counters, kept current by the commits' notices (issue 17).

Reading the counters from Redis (queue.changes.stamp) is a round trip, and a kept answer is
served on every request: under load the round trip cost more than the answer. So each commit
that counts a scope up also publishes which scopes it counted (NOTICES, in the same pipeline),
and a process that keeps answers subscribes once and counts the notices itself.

A reader first takes every notice already received: a look at the subscription's socket that
never waits. Redis writes a notice to its subscribers in the same pass as it answers the
committer, so a change whose commit returned before the read began is always counted.

What the local counts cannot know is what happened while this process was not subscribed: every
(re)subscription starts a new generation, part of each stamp, so no answer kept before it can
match one after. The subscription is confirmed before its first stamp is given out; a lost
connection is never silently re-made (redis-py would re-subscribe on its own and drop what was
published in between): it ends the generation, and the next reader subscribes again. Without
Redis there is no stamp, and answers are computed afresh (project_cache).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter

import redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.retry import Retry

from semaphore import broker

log = logging.getLogger(__name__)

NOTICES = broker.key("changes", "notices")
# The scope of rows every project shows (queue.changes counts it up for them).
SHARED_SCOPE = "all"
# The scope of API tokens, which no project's answer shows but signing in reads.
TOKENS_SCOPE = "tokens"
_SHARED = SHARED_SCOPE.encode()
# How long a reader waits for the subscription's confirmation, and after a failure how long
# readers go without a stamp before the next attempt (a down Redis costs one try that often).
CONFIRM_SECONDS = 1.0
RETRY_SECONDS = 1.0

_lock = threading.Lock()
_state: dict = {
    "source": None,
    "client": None,
    "subscription": None,
    "generation": 0,
    "retry_at": 0.0,
}
_counts: Counter[bytes] = Counter()


def notice(scopes: set[int | str]) -> str:
    """A notice's body: the scopes a commit counted up (project ids, "all")."""
    return ",".join(str(scope) for scope in sorted(scopes, key=str))


def local_stamp(project_id: int | None, *scopes: str) -> tuple[int, ...] | None:
    """The changes of the project (if any), of what every project shares and of the other
    `scopes`, as this process has counted them (None when Redis cannot say).

    Only comparable with stamps of this process: what a client is handed uses
    queue.changes.stamp."""
    with _lock:
        source = (os.getpid(), broker.redis_url())
        try:
            if _state["source"] != source or _state["subscription"] is None:
                if _state["source"] == source and time.monotonic() < _state["retry_at"]:
                    return None
                _subscribe(source)
            _take_notices(_state["subscription"])
        except redis.RedisError as exc:
            _end(f"change notices not received ({exc}); answers are computed afresh")
            return None
        project = _counts[b"%d" % project_id] if project_id is not None else 0
        return (
            _state["generation"],
            _counts[_SHARED],
            project,
            *(_counts[scope.encode()] for scope in scopes),
        )


def _subscribe(source: tuple[int, str]) -> None:
    # A forked child must not read its parent's subscription: it is simply left behind.
    _state.update(source=source, subscription=None, client=None)
    _state["generation"] += 1
    _counts.clear()
    client = broker.new_client(retry=Retry(NoBackoff(), 0))
    subscription = client.pubsub()
    subscription.subscribe(NOTICES)
    # A notice published before Redis took the subscription is not ours: stamps start once it
    # is confirmed, so that nothing read after it can miss one.
    confirmed = subscription.get_message(timeout=CONFIRM_SECONDS)
    if confirmed is None or confirmed["type"] != "subscribe":
        subscription.close()
        raise redis.ConnectionError("the subscription to change notices was not confirmed")
    subscription.connection.register_connect_callback(_never_reconnect.called)
    # The client too: collected, it would close its pool, the subscription's connection with it.
    _state.update(subscription=subscription, client=client)


class _NeverReconnect:
    # redis-py reconnects within a read, and what was published meanwhile is lost. (It keeps
    # connect callbacks as weak bound methods, hence an object.)
    def called(self, _connection: object) -> None:
        raise redis.ConnectionError("the change notices' connection was lost")


_never_reconnect = _NeverReconnect()


def _take_notices(subscription: PubSub) -> None:
    while (message := subscription.get_message(timeout=0.0)) is not None:
        if message["type"] == "message":
            _counts.update(message["data"].split(b","))


def _end(reason: str) -> None:
    subscription = _state["subscription"]
    _state.update(subscription=None, client=None, retry_at=time.monotonic() + RETRY_SECONDS)
    _state["generation"] += 1
    if subscription is not None:
        try:
            subscription.close()
        except (redis.RedisError, OSError):
            pass
    log.warning("%s", reason)
