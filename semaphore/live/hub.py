"""One Redis subscription per web process, shared by all its WebSocket clients.

The hub's thread reads the live channel and offers each event to every subscription whose
filter accepts it. A subscription is a bounded queue: a client too slow to keep up is marked
`overflowed` instead of slowing the others (followers then catch up from the database). After
a lost Redis connection every subscription is marked `missed`, for the same reason.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from semaphore import broker
from semaphore.live import events
from semaphore.live.events import LiveEvent

log = logging.getLogger(__name__)
QUEUE_SIZE = 256
RETRY_SECONDS = 1.0
# How long a read of the channel blocks: also how soon the relay notices a reconfigured broker.
LISTEN_SECONDS = 0.25
READY_SECONDS = 5.0


class Subscription:
    """The events one client wants, queued until its thread sends them."""

    def __init__(self, hub: Hub, accepts: Callable[[LiveEvent], bool]) -> None:
        self._hub = hub
        self._accepts = accepts
        self._queue: queue.Queue[LiveEvent] = queue.Queue(QUEUE_SIZE)
        self.overflowed = False
        self.missed = False

    def offer(self, event: LiveEvent) -> None:
        if self.overflowed or not self._accepts(event):
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.overflowed = True

    def get(self, timeout: float) -> LiveEvent | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def clear(self) -> None:
        """Drop what is queued (the caller re-reads the database) and accept events again."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self.overflowed = False
        self.missed = False

    def close(self) -> None:
        self._hub.unsubscribe(self)


class Hub:
    """This process's relay from the live channel to its subscriptions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._thread: threading.Thread | None = None
        self._listening_to: object = None  # the broker client whose channel is subscribed

    def _listening(self) -> bool:
        """Whether the channel of the broker this process now uses is subscribed."""
        listening_to = self._listening_to
        return listening_to is not None and listening_to is broker.connection()

    def subscribe(self, accepts: Callable[[LiveEvent], bool]) -> Subscription:
        """A new subscription, receiving events published from now on."""
        subscription = Subscription(self, accepts)
        with self._lock:
            self._subscriptions.add(subscription)
            if self._thread is None or not self._thread.is_alive():
                self._listening_to = None
                self._thread = threading.Thread(target=self._run, name="live-hub", daemon=True)
                self._thread.start()
        # Events published before the channel is subscribed would be missed: wait for it (on
        # the broker configured now: the relay may still listen to one reconfigured away).
        deadline = time.monotonic() + READY_SECONDS
        while not self._listening():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                subscription.missed = True
                break
            time.sleep(min(remaining, 0.02))  # rare (a first client, a new broker): poll
        return subscription

    def subscription_count(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def _each(self) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions)

    def _lost(self) -> None:
        self._listening_to = None
        for subscription in self._each():
            subscription.missed = True

    def _run(self) -> None:
        channel = broker.key(events.CHANNEL)
        while True:
            pubsub = None
            try:
                client = broker.connection()
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(channel)
                pubsub.get_message(timeout=5)  # the subscribe confirmation
                self._listening_to = client
                # A reconfigured broker (another Redis) means subscribing again.
                while broker.connection() is client:
                    message = pubsub.get_message(timeout=LISTEN_SECONDS)
                    if message is None or message.get("type") != "message":
                        continue
                    subscriptions = self._each()
                    if not subscriptions:
                        continue  # nobody here is listening: not even worth decoding
                    event = events.decode(message["data"])
                    if event is not None:
                        for subscription in subscriptions:
                            subscription.offer(event)
                self._lost()
            except Exception as exc:  # noqa: BLE001 - the relay must outlive any failure
                log.warning("live channel lost (%s: %s); reconnecting", type(exc).__name__, exc)
                self._lost()
                time.sleep(RETRY_SECONDS)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # noqa: BLE001, S110 - it is being dropped anyway
                        pass


_hub = Hub()


def hub() -> Hub:
    """This process's hub (its thread starts with the first subscription, after any fork)."""
    return _hub
