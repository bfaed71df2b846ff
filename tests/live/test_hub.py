"""The process's live hub: a subscription hears what is published once `subscribe` returns,
also when the process was just pointed at another Redis (as each test's app does, and as a
restarted web process with a new configuration would)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from semaphore import broker
from semaphore.live import events
from semaphore.live.hub import Hub
from tests.services import RedisServer

pytestmark = pytest.mark.single_db


def _publish(task_id: int) -> None:
    # As queue.messages.update_message shapes a status change.
    update = {"type": "update", "status": "running", "task_id": task_id, "project_id": 1}
    message = {"kind": "update", "project_id": 1, "task_id": task_id, "update": update}
    broker.connection().publish(broker.key(events.CHANNEL), json.dumps(message))


def test_a_subscription_hears_what_is_published_right_after_it(app):
    hub = Hub()
    subscription = hub.subscribe(lambda event: event.task_id == 7)
    try:
        _publish(7)
        event = subscription.get(5)
        assert event is not None and event.task_id == 7 and not subscription.missed
    finally:
        subscription.close()


def test_after_the_broker_moves_a_new_subscription_hears_the_new_one_at_once(app, tmp_path):
    config = app.config["SEMAPHORE"]
    other = RedisServer(tmp_path / "other-redis").start()
    hub = Hub()
    first = hub.subscribe(lambda event: True)  # the relay listens to the first Redis
    try:
        broker.configure(dataclasses.replace(config, redis_url=other.url))
        second = hub.subscribe(lambda event: event.task_id == 8)
        # Published at once on the new Redis: heard, although the relay was elsewhere.
        _publish(8)
        event = second.get(5)
        assert event is not None and event.task_id == 8
        second.close()
    finally:
        first.close()
        broker.configure(config)
        other.stop()
