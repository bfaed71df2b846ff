"""After a commit, what it tells Redis goes in one round trip: the change counters first, then
the live messages (queue.commit_hooks)."""

from __future__ import annotations

import pytest
from redis.connection import AbstractConnection

from semaphore import broker
from semaphore.extensions import db
from semaphore.models import Task
from semaphore.queue import changes, publish
from tests import factories


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The requests this process sends to Redis (a pipeline is one)."""
    requests: list[bytes] = []
    send = AbstractConnection.send_packed_command

    def recorded(connection, command, *args, **kwargs):  # noqa: ANN001, ANN202
        parts = command if isinstance(command, list) else [command]
        requests.append(b"".join(bytes(part) for part in parts))
        return send(connection, command, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", recorded)
    return requests


def test_a_commit_counts_up_and_announces_in_one_round_trip_counters_first(app, sent):
    project = factories.project()
    template = factories.template(project=project)
    task = Task(template_id=template.id, project_id=project.id, status="waiting")
    db.session.add(task)
    db.session.flush()
    publish.task_changed(db.session(), task)
    before = broker.connection().get(changes.counter_key(project.id))
    sent.clear()
    db.session.commit()
    assert len(sent) == 1, sent
    (request,) = sent
    assert request.index(b"INCR") < request.index(b"PUBLISH")
    after = broker.connection().get(changes.counter_key(project.id))
    assert int(after) == int(before or 0) + 1


def test_a_commit_with_nothing_to_tell_sends_nothing(app, sent):
    factories.project()
    db.session.commit()
    sent.clear()
    db.session.commit()  # nothing written since
    assert sent == []


def test_redis_down_never_fails_the_commit(app, redis_server, caplog):
    project = factories.project()
    template = factories.template(project=project)
    redis_server.stop()
    try:
        task = Task(template_id=template.id, project_id=project.id, status="waiting")
        db.session.add(task)
        db.session.flush()
        publish.task_changed(db.session(), task)
        db.session.commit()
    finally:
        redis_server.start()
    assert db.session.get(Task, task.id) is not None
    assert "change counters not counted up" in caplog.text
    assert "live updates not published" in caplog.text
