"""How many /api/ws sockets one user, one client address and one web process may hold open.

An open socket holds a thread of its web process for as long as it is open, so one greedy
client could otherwise take every thread and stall the pages and the API. Checked before the
upgrade (a refused client gets 429 or 503 as JSON, never a socket):

* per user (`websocket_max_per_user`) and per address (`websocket_max_per_address`), across
  every web process: each open socket holds a lease in a Redis sorted set per user and per
  address, scored by when it lapses. This process renews its leases every RENEW_SECONDS, so
  the leases of a process that died lapse within LEASE_SECONDS;
* per web process: at most `web_threads` less a reserve (an eighth, at least 2), so that
  pages and API calls always find a thread.

The counts of this process are also kept in memory and enforced whatever Redis says: with
Redis down, the limits still hold per process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter

import redis

from semaphore import broker
from semaphore.config import current_config
from semaphore.errors import RateLimited, ServiceUnavailable
from semaphore.metrics import definitions as metrics

log = logging.getLogger(__name__)
LEASE_SECONDS = 60
RENEW_SECONDS = 20

# KEYS: the user's and the address's sorted sets. ARGV: now, lapse time, lease id, the user
# limit, the address limit (0: none). Returns 0 (taken), 1 (user full) or 2 (address full).
_TAKE = """
for _, key in ipairs(KEYS) do redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1]) end
local limits = {tonumber(ARGV[4]), tonumber(ARGV[5])}
for i, key in ipairs(KEYS) do
  if limits[i] > 0 and redis.call('ZCARD', key) >= limits[i] then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2], ARGV[3])
  redis.call('EXPIRE', key, ARGV[6])
end
return 0
"""


def process_capacity(web_threads: int) -> int:
    """Open sockets one web process takes: its threads less a reserve for everything else."""
    return max(1, web_threads - max(2, web_threads // 8))


class Lease:
    """One open socket's place in the counts; `release` it when the socket closes."""

    def __init__(self, limits: SocketLimits, user_id: int, address: str) -> None:
        self.limits = limits
        self.user_id = user_id
        self.address = address
        self.id = f"{os.getpid()}-{uuid.uuid4().hex}"
        self.keys = (
            broker.key("live-sockets", "user", str(user_id)),
            broker.key("live-sockets", "address", address or "unknown"),
        )
        self.released = False

    def release(self) -> None:
        self.limits.release(self)


class SocketLimits:
    """This process's open sockets, and their leases in Redis."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: set[Lease] = set()
        self._per_user: Counter[int] = Counter()
        self._per_address: Counter[str] = Counter()
        self._renewer: threading.Thread | None = None

    def acquire(self, user_id: int, address: str) -> Lease:
        """A lease for one more socket of this user from this address.

        Raises:
            RateLimited: the user or the address already holds its limit of sockets.
            ServiceUnavailable: this web process holds as many sockets as it can.
        """
        config = current_config()
        per_user, per_address = config.websocket_max_per_user, config.websocket_max_per_address
        lease = Lease(self, user_id, address)
        with self._lock:
            if len(self._leases) >= process_capacity(config.web_threads):
                raise ServiceUnavailable("Too many live connections; try again later")
            _check(per_user and self._per_user[user_id] >= per_user, "user")
            _check(per_address and self._per_address[address] >= per_address, "address")
            self._add(lease)
        try:
            full = self._take(lease, per_user, per_address)
        except redis.RedisError as exc:
            log.warning("live socket limits are per process only: Redis unreachable (%s)", exc)
            full = 0
        if full:
            self.release(lease)
            _check(True, "user" if full == 1 else "address")
        self._start_renewing()
        return lease

    def release(self, lease: Lease) -> None:
        with self._lock:
            if lease.released:
                return
            lease.released = True
            self._leases.discard(lease)
            metrics.WEBSOCKETS.dec()
            self._per_user[lease.user_id] -= 1
            self._per_address[lease.address] -= 1
            if self._per_user[lease.user_id] <= 0:
                del self._per_user[lease.user_id]
            if self._per_address[lease.address] <= 0:
                del self._per_address[lease.address]
        try:
            pipe = broker.connection().pipeline()
            for key in lease.keys:
                pipe.zrem(key, lease.id)
            pipe.execute()
        except redis.RedisError:
            pass  # the lease lapses by itself

    def open_count(self) -> int:
        with self._lock:
            return len(self._leases)

    def _add(self, lease: Lease) -> None:
        self._leases.add(lease)
        metrics.WEBSOCKETS.inc()
        self._per_user[lease.user_id] += 1
        self._per_address[lease.address] += 1

    def _take(self, lease: Lease, per_user: int, per_address: int) -> int:
        now = time.time()
        return int(
            broker.connection().eval(
                _TAKE,
                2,
                *lease.keys,
                now,
                now + LEASE_SECONDS,
                lease.id,
                per_user,
                per_address,
                LEASE_SECONDS * 2,
            )
        )

    def _start_renewing(self) -> None:
        with self._lock:
            if self._renewer is None or not self._renewer.is_alive():
                self._renewer = threading.Thread(
                    target=self._renew_forever, name="live-limits", daemon=True
                )
                self._renewer.start()

    def _renew_forever(self) -> None:
        while True:
            time.sleep(RENEW_SECONDS)
            with self._lock:
                leases = list(self._leases)
            if not leases:
                continue
            try:
                lapse = time.time() + LEASE_SECONDS
                pipe = broker.connection().pipeline()
                for lease in leases:
                    for key in lease.keys:
                        pipe.zadd(key, {lease.id: lapse}, xx=True)
                        pipe.expire(key, LEASE_SECONDS * 2)
                pipe.execute()
            except redis.RedisError as exc:
                log.warning("could not renew live socket leases: %s", exc)


def _check(full: bool, what: str) -> None:
    if full:
        raise RateLimited(f"Too many open live connections for this {what}", retry_after=5)


_limits = SocketLimits()


def limits() -> SocketLimits:
    """This process's socket limits (the renewing thread starts with the first socket)."""
    return _limits
