"""Live output across processes: two `semaphore server` (gunicorn) processes and a separate
`semaphore worker`, sharing one database and one Redis, as in a multi-machine installation."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from semaphore.extensions import db
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.live.conftest import connect, receive_until

pytestmark = pytest.mark.single_db
LINES = 300
SCRIPT = f'for i in $(seq 1 {LINES}); do echo "line $i"; sleep 0.02; done\n'


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("live-scripts")
    return factories.git_repository(directory, {"count.sh": SCRIPT}, "count")


def _start_task(web: str, token: str, project_id: int, template_id: int) -> int:
    request = urllib.request.Request(
        f"http://{web}/api/project/{project_id}/tasks",
        data=json.dumps({"template_id": template_id}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())["id"]


def _output_lines(messages: list[dict]) -> list[tuple[int, str]]:
    return [
        (line["seq"], line["output"])
        for message in messages
        if message["type"] == "output"
        for line in message["lines"]
    ]


def _finished(messages: list[dict]) -> bool:
    return any(m["type"] == "update" and m["status"] == "success" for m in messages)


def _stored(task_id: int) -> list[tuple[int, str]]:
    db.session.expire_all()
    return [(line.seq, line.output) for line in task_output.read_lines(task_id)]


def _wait_for_stored_line(task_id: int, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in {output for _, output in _stored(task_id)}:
        assert time.monotonic() < deadline, f"{text!r} not stored in {timeout} s"
        time.sleep(0.05)
        db.session.rollback()


def test_late_and_reconnecting_followers_on_two_web_processes_get_every_line_once(
    app, processes, script_repo
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    repository = factories.repository(
        project=project, git_url=f"file://{script_repo}", git_branch="main"
    )
    template = factories.template(
        project=project, app="bash", playbook="count.sh", repository_id=repository.id,
        inventory_id=None,
    )  # fmt: skip
    token = factories.api_token(owner)
    web_one, web_two = processes.web(), processes.web()
    processes.worker()

    # The original's stream on web one, open before the task starts.
    original = connect(web_one, token)
    original_messages: list[dict] = []
    listener = threading.Thread(
        target=lambda: original_messages.extend(receive_until(original, _finished, timeout=120)),
    )
    listener.start()

    task_id = _start_task(web_one, token, project.id, template.id)

    # B follows from the start on web two, drops after a while, and resumes on web one.
    dropping = connect(web_two, token, f"?task_id={task_id}")
    before_drop = receive_until(
        dropping, lambda m: "line 40" in {text for _, text in _output_lines(m)}, timeout=60
    )
    dropping.close()
    seen = _output_lines(before_drop)
    time.sleep(0.5)  # lines go by while B is away
    resumed = connect(web_one, token, f"?task_id={task_id}&after={seen[-1][0]}")
    after_drop: list[dict] = []
    b_thread = threading.Thread(
        target=lambda: after_drop.extend(receive_until(resumed, _finished, timeout=120))
    )
    b_thread.start()

    # A connects mid-run on web two and asks for everything.
    _wait_for_stored_line(task_id, "line 150")
    late = connect(web_two, token, f"?task_id={task_id}&after=0")
    late_messages = receive_until(late, _finished, timeout=120)
    late.close()
    b_thread.join(timeout=130)
    resumed.close()
    listener.join(timeout=130)
    original.close()

    stored = _stored(task_id)
    assert [text for _, text in stored if text.startswith("line ")] == [
        f"line {n}" for n in range(1, LINES + 1)
    ]
    assert _output_lines(late_messages) == stored
    assert seen + _output_lines(after_drop) == stored
    assert len(seen) < len(stored)  # B really resumed mid-run
    # A really joined mid-run: the state it was first sent was still running.
    assert [m["status"] for m in late_messages if m["type"] == "update"][0] == "running"
    # The original's one-message-per-line stream saw every line too, in order.
    logs = [(m["seq"], m["output"]) for m in original_messages if m["type"] == "log"]
    assert logs == stored
    statuses = [m["status"] for m in original_messages if m["type"] == "update"]
    assert statuses[0] == "waiting" and statuses[-1] == "success" and "running" in statuses
