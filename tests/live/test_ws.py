"""GET /api/ws in one process: who may connect, what each mode sends, resuming and gaps."""

from __future__ import annotations

import contextlib
import time

import pytest
from simple_websocket import ConnectionClosed
from simple_websocket import ConnectionError as HandshakeRefused
from sqlalchemy import insert

from semaphore.extensions import db
from semaphore.models import Task, TaskOutputChunk, utcnow
from semaphore.services import tasks
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.live.conftest import connect, quiet_for, receive_until, subscribed


def _task(project, status: str = "running") -> Task:
    template = factories.template(project=project)
    task = Task(template_id=template.id, project_id=project.id, status=status)
    db.session.add(task)
    db.session.commit()
    return task


def _write(task: Task, first: int, last: int) -> None:
    """Store lines first..last as the worker does (published after the commit)."""
    now = utcnow()
    task_output.store_lines(task.id, first, [(now, f"line {n}") for n in range(first, last + 1)])
    db.session.commit()


def _finish(task: Task, status: str = "success") -> None:
    db.session.expire_all()
    tasks.change_status(db.session.get(Task, task.id), status)
    db.session.commit()


def _lines(messages: list[dict]) -> list[tuple[int, str]]:
    return [
        (line["seq"], line["output"])
        for message in messages
        if message["type"] == "output"
        for line in message["lines"]
    ]


def _has_final(messages: list[dict]) -> bool:
    return any(m["type"] == "update" and m["status"] == "success" for m in messages)


def test_an_anonymous_client_is_refused_before_the_upgrade(app, live_url):
    with pytest.raises(HandshakeRefused) as refused:
        connect(live_url, None)
    assert refused.value.status_code == 401
    with pytest.raises(HandshakeRefused) as bad_token:
        connect(live_url, "not-a-token")
    assert bad_token.value.status_code == 401


def test_an_outsider_cannot_follow_or_narrow_to_another_project(app, live_url):
    owner, outsider = factories.user(), factories.user()
    project = factories.project(members={owner: "owner"})
    task = _task(project)
    token = factories.api_token(outsider)
    for query in (f"?task_id={task.id}", f"?project_id={project.id}", "?task_id=999999"):
        with pytest.raises(HandshakeRefused) as refused:
            connect(live_url, token, query)
        assert refused.value.status_code == 404, query


@pytest.mark.parametrize("query", ["?task_id=abc", "?after=-1", "?html=maybe", "?project_id=1e3"])
def test_a_malformed_query_is_refused_with_400(app, live_url, query):
    token = factories.api_token(factories.user())
    with pytest.raises(HandshakeRefused) as refused:
        connect(live_url, token, query)
    assert refused.value.status_code == 400


def test_a_guest_receives_only_the_projects_it_belongs_to(app, live_url):
    guest, other = factories.user(), factories.user()
    mine = factories.project(members={guest: "guest"})
    theirs = factories.project(members={other: "owner"})
    my_task, their_task = _task(mine), _task(theirs)
    ws = subscribed(live_url, factories.api_token(guest))
    try:
        _write(their_task, 1, 3)
        _finish(their_task)
        _write(my_task, 1, 2)
        _finish(my_task)
        messages = receive_until(ws, _has_final)
        messages += quiet_for(ws, 0.5)
    finally:
        ws.close()
    assert {m["project_id"] for m in messages} == {mine.id}
    logs = [m for m in messages if m["type"] == "log"]
    # The original's shapes, one log message per line, plus the line's number.
    assert [(m["output"], m["seq"]) for m in logs] == [("line 1", 1), ("line 2", 2)]
    assert set(logs[0]) == {"type", "output", "time", "task_id", "project_id", "seq"}
    update = next(m for m in messages if m["type"] == "update")
    assert set(update) == {
        "type", "start", "end", "status", "task_id", "template_id", "project_id", "version"
    }  # fmt: skip
    assert update["task_id"] == my_task.id


def test_an_admin_receives_every_project_and_logs_0_leaves_out_lines(app, live_url, admin):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    task = _task(project)
    everything = subscribed(live_url, factories.api_token(admin))
    owner_token = factories.api_token(owner)
    updates_only = subscribed(live_url, owner_token, f"?project_id={project.id}&logs=0")
    try:
        _write(task, 1, 2)
        _finish(task)
        seen_by_admin = receive_until(everything, _has_final)
        narrowed = receive_until(updates_only, _has_final)
    finally:
        everything.close()
        updates_only.close()
    assert [m["output"] for m in seen_by_admin if m["type"] == "log"] == ["line 1", "line 2"]
    assert {m["type"] for m in narrowed} == {"update"}


def test_a_follower_resumes_after_its_last_line_then_gets_live_lines_in_order(app, live_url):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    task = _task(project)
    _write(task, 1, 5)
    ws = subscribed(live_url, factories.api_token(owner), f"?task_id={task.id}&after=3")
    try:
        first = receive_until(ws, lambda m: len(_lines(m)) >= 2)
        _write(task, 6, 8)
        _write(task, 9, 9)
        _finish(task)
        rest = receive_until(ws, _has_final)
    finally:
        ws.close()
    assert _lines(first + rest) == [(n, f"line {n}") for n in range(4, 10)]
    assert first[0]["type"] == "output" and first[0]["project_id"] == project.id
    final = [m for m in rest if m["type"] == "update"][-1]
    assert final["status"] == "success" and final["end"] is not None


def test_a_follower_fills_a_gap_from_the_database(app, live_url):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    task = _task(project)
    ws = subscribed(live_url, factories.api_token(owner), f"?task_id={task.id}")
    try:
        receive_until(ws, lambda m: any(x["type"] == "update" for x in m))
        _write(task, 1, 2)
        # Lines 3..4 are stored without being announced (as when Redis was briefly away).
        rows = [task_output.chunk_row(task.id, 3, [(utcnow(), "line 3"), (utcnow(), "line 4")])]
        db.session.execute(insert(TaskOutputChunk), rows)
        db.session.commit()
        _write(task, 5, 6)
        _finish(task)
        messages = receive_until(ws, _has_final)
    finally:
        ws.close()
    assert _lines(messages) == [(n, f"line {n}") for n in range(1, 7)]


def test_a_follower_with_html_gets_escaped_coloured_lines(app, live_url):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    task = _task(project)
    task_output.store_lines(task.id, 1, [(utcnow(), "\x1b[31mred <script>x</script>\x1b[0m")])
    db.session.commit()
    ws = subscribed(live_url, factories.api_token(owner), f"?task_id={task.id}&html=1")
    try:
        messages = receive_until(ws, lambda m: len(_lines(m)) >= 1)
    finally:
        ws.close()
    line = messages[0]["lines"][0]
    assert line["html"] == '<span class="ansi31">red &lt;script&gt;x&lt;/script&gt;</span>'
    assert line["output"].startswith("\x1b[31m")


def test_a_follower_of_a_finished_task_gets_all_lines_then_the_final_state(app, live_url):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    task = _task(project)
    _write(task, 1, 4500)  # more than one catch-up batch
    _finish(task)
    ws = subscribed(live_url, factories.api_token(owner), f"?task_id={task.id}")
    try:
        messages = receive_until(ws, _has_final)
    finally:
        ws.close()
    assert [seq for seq, _ in _lines(messages)] == list(range(1, 4501))
    assert messages[-1]["type"] == "update"


def test_a_member_removed_while_connected_stops_receiving(app, live_url, monkeypatch):
    from semaphore.live import stream
    from semaphore.services import projects
    from semaphore.services.permissions import project_access

    monkeypatch.setattr(stream, "ACCESS_CHECK_SECONDS", 0.3)
    owner, guest = factories.user(), factories.user()
    project = factories.project(members={owner: "owner", guest: "guest"})
    task = _task(project)
    token = factories.api_token(guest)
    everything = subscribed(live_url, token)
    narrowed = subscribed(live_url, token, f"?project_id={project.id}")
    follower = subscribed(live_url, token, f"?task_id={task.id}")
    try:
        receive_until(follower, lambda m: any(x["type"] == "update" for x in m))
        projects.remove_member(project_access(owner, project.id), guest.id)
        time.sleep(1.5)  # a few access checks go by
        _write(task, 1, 2)
        _finish(task)
        assert quiet_for(everything, 1) == []
        for ws in (narrowed, follower):
            # Told to go: the server closed the socket without sending the task's news.
            assert [m for m in quiet_for(ws, 1) if m.get("type") == "output"] == []
            assert not ws.connected
    finally:
        for ws in (everything, narrowed, follower):
            with contextlib.suppress(ConnectionClosed):
                ws.close()
