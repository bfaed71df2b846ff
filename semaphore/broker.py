"""Redis: the connection, queue names, enqueueing jobs by dotted name, and publishing.

A leaf module: services enqueue through it without importing jobs or the engine.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from rq import Queue

from semaphore.config import Config
from semaphore.embedded_redis import ensure_embedded_redis
from semaphore.errors import ServiceUnavailable

QUEUE_TASKS = "tasks"
QUEUE_NOTIFICATIONS = "notifications"
QUEUE_MAINTENANCE = "maintenance"
ALL_QUEUES = (QUEUE_TASKS, QUEUE_NOTIFICATIONS, QUEUE_MAINTENANCE)
KEY_PREFIX = "semaphore:"

_lock = threading.Lock()
_state: dict[str, Any] = {"config": None, "url": None, "client": None}


def configure(config: Config) -> None:
    """Point this process at the configured Redis (connecting lazily, on first use)."""
    with _lock:
        previous = _state["config"]
        # The embedded Redis lives in the data directory; a configured one does not.
        if (
            previous is not None
            and previous.redis_url == config.redis_url
            and (config.redis_url or previous.data_dir == config.data_dir)
        ):
            return
        _state.update(config=config, url=None, client=None)


def redis_url() -> str:
    """The URL of the configured Redis, starting the embedded one when none is configured."""
    config: Config | None = _state["config"]
    if config is None:
        raise RuntimeError("broker.configure() was not called")
    if _state["url"] is None:
        _state["url"] = config.redis_url or ensure_embedded_redis(config.data_dir)
    return _state["url"]


def new_client(**options: Any) -> redis.Redis:
    """A client of its own on the configured Redis, with this process's connection settings
    (`options` adds to them or overrides them)."""
    return redis.Redis.from_url(
        redis_url(), **{"socket_connect_timeout": 3, "health_check_interval": 30, **options}
    )


def connection() -> redis.Redis:
    """This process's Redis client (a thread-safe connection pool)."""
    client = _state["client"]
    if client is None:
        with _lock:
            if _state["client"] is None:
                _state["client"] = new_client()
            client = _state["client"]
    return client


# A quick look, kept a little while: pages listing waiting tasks ask on every request.
HEALTH_TIMEOUT_SECONDS = 0.25
HEALTH_KEPT_SECONDS = 2.0
_health: dict[str, tuple[float, bool]] = {}


def reachable() -> bool:
    """Whether Redis answers a ping within a quarter of a second (the answer is kept for two
    seconds per URL, so a down Redis costs a request that long at most that often)."""
    url = redis_url()
    now = time.monotonic()
    kept = _health.get(url)
    if kept is not None and now - kept[0] < HEALTH_KEPT_SECONDS:
        return kept[1]
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=HEALTH_TIMEOUT_SECONDS,
        socket_timeout=HEALTH_TIMEOUT_SECONDS,
    )
    try:
        answered = bool(client.ping())
    except redis.RedisError:
        answered = False
    finally:
        client.close()
    _health[url] = (now, answered)
    return answered


def queue(name: str = QUEUE_TASKS) -> Queue:
    """The RQ queue of that name on this process's connection."""
    return Queue(name, connection=connection())


def enqueue(dotted_name: str, *args: Any, queue_name: str = QUEUE_TASKS, **options: Any) -> str:
    """Enqueue a job by its function's dotted name; returns the job id.

    Raises:
        ServiceUnavailable: Redis cannot be reached.
    """
    try:
        job = queue(queue_name).enqueue(dotted_name, *args, **options)
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"the task queue (Redis) is unreachable: {exc}") from exc
    return job.id


def publish(channel: str, message: str) -> None:
    """Publish a message on a Redis pub/sub channel."""
    connection().publish(KEY_PREFIX + channel, message)


def key(*parts: object) -> str:
    """A namespaced Redis key."""
    return KEY_PREFIX + ":".join(str(part) for part in parts)
