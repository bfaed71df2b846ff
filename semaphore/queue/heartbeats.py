"""Signs of life of the background processes, kept in Redis so that any web process of any
machine reads them: the scheduler's last tick, and the RQ workers registered."""

from __future__ import annotations

import time

import redis
from rq import Worker

from semaphore import broker


def _tick_key() -> str:
    return broker.key("scheduler", "last-tick")


def scheduler_ticked(at: float | None = None) -> None:
    """Record that a scheduler finished a tick now (a Unix time); Redis failures are ignored,
    the tick itself reports them."""
    try:
        broker.connection().set(_tick_key(), repr(at if at is not None else time.time()))
    except redis.RedisError:
        pass


def scheduler_last_tick() -> float | None:
    """When a scheduler last finished a tick (Unix time), or None if none ever did.

    Raises:
        redis.RedisError: Redis cannot be reached.
    """
    value = broker.connection().get(_tick_key())
    return float(value) if value is not None else None


def worker_states() -> dict[str, int]:
    """How many RQ workers are registered and alive, by state (busy, idle, ...): one
    pipelined read of their keys, which RQ lets lapse when a worker dies.

    Raises:
        redis.RedisError: Redis cannot be reached.
    """
    connection = broker.connection()
    keys = connection.smembers(Worker.redis_workers_keys)
    pipe = connection.pipeline(transaction=False)
    for key in keys:
        pipe.hget(key, "state")
    states: dict[str, int] = {}
    for state in pipe.execute():
        if state is not None:
            name = state.decode() if isinstance(state, bytes) else str(state)
            states[name] = states.get(name, 0) + 1
    return states
