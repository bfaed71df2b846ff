"""Redis goes away for 30 s under `make run`'s Procfile (honcho running web, worker and scheduler,
with the test's own Redis): nothing stops, no task is lost or run twice, the web never answers
5xx, and the running task finishes with its result stored."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Task
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.processes import Processes

pytestmark = pytest.mark.single_db

OUTAGE_SECONDS = 30
SCRIPTS = {
    # Long enough to span the outage: it starts before Redis stops and ends after it is back.
    "long.sh": 'echo "run of long"\nfor i in $(seq 1 45); do echo "tick $i"; sleep 1; done\n',
    "quick.sh": 'echo "run of quick"\n',
}


def _call(host: str, method: str, path: str, token: str, body: object = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{host}/api{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _statuses(task_ids: list[int]) -> list[str]:
    db.session.expire_all()
    return [db.session.get(Task, task_id).status for task_id in task_ids]


def _runs(task_id: int, marker: str) -> int:
    db.session.expire_all()
    return [line.output for line in task_output.read_lines(task_id)].count(marker)


def test_a_redis_outage_stops_nothing_and_loses_no_task(
    app, redis_server, processes: Processes, tmp_path: Path
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    repo = factories.git_repository(tmp_path / "scripts", SCRIPTS)
    repository = factories.repository(project=project, git_url=f"file://{repo}", git_branch="main")

    def template(script: str, name: str):
        return factories.template(
            project=project, name=name, app="bash", playbook=script,
            repository_id=repository.id, inventory_id=None,
        )  # fmt: skip

    long = template("long.sh", "long")
    quick = [template("quick.sh", f"quick {n}") for n in range(5)]
    token = factories.api_token(owner)
    honcho, host = processes.procfile()
    p = f"/project/{project.id}/tasks"
    assert _call(host, "POST", p, token, {"template_id": long.id}) == 201
    running = db.session.scalar(select(Task.id).where(Task.template_id == long.id))
    deadline = time.monotonic() + 60
    while _runs(running, "tick 2") == 0:
        assert time.monotonic() < deadline, "the long task did not start"
        time.sleep(0.3)
    # One worker: these five wait behind the running task.
    for row in quick:
        assert _call(host, "POST", p, token, {"template_id": row.id}) == 201
    procfile = _procfile_processes(honcho.pid)

    answers: list[int] = []
    stop_polling = threading.Event()

    def poll_the_web() -> None:
        while not stop_polling.is_set():
            answers.append(_call(host, "GET", "/ping", token))
            answers.append(_call(host, "GET", p, token))
            time.sleep(0.5)

    redis_server.stop()
    poller = threading.Thread(target=poll_the_web)
    poller.start()
    # A task created while Redis is away is stored and answered 201, once.
    during = _call(host, "POST", p, token, {"template_id": quick[0].id})
    time.sleep(OUTAGE_SECONDS)
    redis_server.start()
    stop_polling.set()
    poller.join()

    assert during == 201
    assert answers and all(status < 500 for status in answers), sorted(set(answers))
    every = db.session.scalars(select(Task.id).where(Task.project_id == project.id)).all()
    assert len(every) == 7
    deadline = time.monotonic() + 120
    while not all(status in ("success", "error", "stopped") for status in _statuses(every)):
        assert time.monotonic() < deadline, _statuses(every)
        time.sleep(0.5)
    assert _statuses(every) == ["success"] * 7
    assert _runs(running, "run of long") == 1 and _runs(running, "tick 45") == 1
    for task_id in every:
        if task_id != running:
            assert _runs(task_id, "run of quick") == 1, task_id
    # Honcho, and the same three processes it started, kept running through it all.
    assert honcho.poll() is None
    assert _procfile_processes(honcho.pid) == procfile


def _procfile_processes(honcho_pid: int) -> list[int]:
    """The direct children of honcho: web, worker and scheduler."""
    children = []
    for entry in sorted(Path("/proc").iterdir(), key=lambda e: e.name):
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == honcho_pid:
                children.append(int(entry.name))
    assert len(children) == 3, children
    return children
