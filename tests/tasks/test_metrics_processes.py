"""GET /metrics over HTTP from a real `semaphore server` (gunicorn, two web processes) while a
real `semaphore worker` runs the tasks posted through the web: the counts of every process of
the machine are summed (prometheus_client's multiprocess mode, semaphore/metrics/__init__.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from simple_websocket import ConnectionClosed
from sqlalchemy import func, select

from semaphore import metrics
from semaphore.extensions import db
from semaphore.metrics import access
from semaphore.models import Task, TaskOutputChunk
from tests import factories
from tests.live.conftest import connect
from tests.processes import Processes, descendants

pytestmark = pytest.mark.single_db

TOKEN = "metrics-token-for-the-test"
TASKS = 4
LINES = 30
SCRIPTS = {"count.sh": f'for i in $(seq 1 {LINES}); do echo "line $i"; done\n'}
CREATE_RULE = "/api/project/<int:project_id>/tasks"


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("metrics-scripts"), SCRIPTS)


def _http(address: str, method: str, path: str, token: str, body: dict | None = None):
    request = urllib.request.Request(
        f"http://{address}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _samples(address: str) -> list:
    status, headers, body = _http(address, "GET", "/metrics", TOKEN)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=")
    return [s for f in text_string_to_metric_families(body.decode()) for s in f.samples]


def _sum(samples: list, name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"not reached within {timeout} s")


def test_metrics_sum_the_counts_of_every_web_and_worker_process(
    app, config, processes: Processes, script_repo
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    repository = factories.repository(
        project=project, git_url=f"file://{script_repo}", git_branch="main"
    )
    template = factories.template(
        project=project,
        app="bash",
        playbook="count.sh",
        repository_id=repository.id,
        inventory_id=None,
    )
    token = factories.api_token(owner)
    worker = processes.worker()
    address = processes.web(workers=2, threads=8, SEMAPHORE_METRICS_TOKEN=TOKEN)

    # Refused without the token, as JSON.
    status, headers, body = _http(address, "GET", "/metrics", "not-the-token")
    assert status == 401 and json.loads(body) == {"error": access.BAD_TOKEN}

    task_ids = []
    for _ in range(TASKS):
        status, _, body = _http(
            address, "POST", f"/api/project/{project.id}/tasks", token, {"template_id": template.id}
        )
        assert status == 201, body
        task_ids.append(json.loads(body)["id"])

    def all_done() -> bool:
        db.session.expire_all()
        return all(db.session.get(Task, i).status == "success" for i in task_ids)

    _wait_for(all_done, 120)
    stored = db.session.scalar(
        select(func.sum(TaskOutputChunk.line_count)).where(TaskOutputChunk.task_id.in_(task_ids))
    )
    assert stored >= TASKS * LINES  # the script's lines, and the run's own
    # Many requests, over both web processes (each answers some of them).
    for _ in range(20):
        assert _http(address, "GET", "/api/ping", token)[0] == 200

    samples = _samples(address)
    assert _sum(samples, "semaphore_tasks_started_total", app="bash") == TASKS
    assert _sum(samples, "semaphore_tasks_finished_total", app="bash", status="success") == TASKS
    assert _sum(samples, "semaphore_tasks_finished_total") == TASKS
    assert _sum(samples, "semaphore_task_wait_seconds_count", app="bash") == TASKS
    assert _sum(samples, "semaphore_task_duration_seconds_count", app="bash") == TASKS
    assert _sum(samples, "semaphore_task_wait_seconds_bucket", app="bash", le="+Inf") == TASKS
    assert _sum(samples, "semaphore_task_output_lines_total") == stored
    assert _sum(samples, "semaphore_task_output_bytes_total") > stored * len("line 1")
    requests = "semaphore_http_requests_total"
    assert _sum(samples, requests, method="POST", route=CREATE_RULE, status="201") == TASKS
    # Ours, and the one that found the server up (tests/processes.py).
    assert _sum(samples, requests, method="GET", route="/api/ping", status="200") == 20 + 1
    assert _sum(samples, requests, route="/metrics", status="401") == 1
    # Read from the database and Redis when scraped.
    assert _sum(samples, "semaphore_tasks", project_id=str(project.id), status="success") == TASKS
    assert _sum(samples, "semaphore_workers") == 1
    assert _sum(samples, "semaphore_queue_waiting_tasks") == 0

    # Live gauges: open WebSockets summed over the web processes, gone once closed; the
    # scheduler's last tick, from Redis.
    processes.scheduler()
    sockets = [connect(address, token) for _ in range(3)]
    try:
        assert _sum(_samples(address), "semaphore_websocket_connections") == 3
    finally:
        for ws in sockets:
            ws.close()
    _wait_for(lambda: _sum(_samples(address), "semaphore_websocket_connections") == 0, 30)
    ticked = "semaphore_scheduler_last_tick_timestamp_seconds"
    _wait_for(lambda: _sum(_samples(address), ticked) > time.time() - 60, 60)

    # The worker runs its jobs itself: one set of files, named after it, none per task.
    directory = metrics.directory_for(config.tmp_path)
    worker_files = sorted(p.name for p in directory.glob(f"*_{worker.pid}*.db"))
    assert worker_files and len(worker_files) <= 3, worker_files  # counter, histogram, gauge
    assert not [p.name for p in directory.glob("*.db") if p.stem.endswith("h")]


def test_a_dead_web_process_stops_counting_its_open_sockets(app, processes: Processes):
    user = factories.user()
    token = factories.api_token(user)
    address = processes.web(workers=1, threads=8, SEMAPHORE_METRICS_TOKEN=TOKEN)
    [server] = processes.started
    sockets = [connect(address, token) for _ in range(2)]
    assert _sum(_samples(address), "semaphore_websocket_connections") == 2
    # The machine's OOM killer takes the web process holding them; gunicorn starts another,
    # and its child_exit hook drops the dead one's live gauges.
    [web_process] = [pid for pid in descendants(server.pid) if _is_gunicorn_worker(pid)]
    os.kill(web_process, signal.SIGKILL)
    _wait_for(lambda: _answers(address), 30)
    assert _sum(_samples(address), "semaphore_websocket_connections") == 0
    for ws in sockets:
        with contextlib.suppress(ConnectionClosed):  # the server side is gone
            ws.close()


def _is_gunicorn_worker(pid: int) -> bool:
    try:
        return "semaphore" in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def _answers(address: str) -> bool:
    try:
        return _http(address, "GET", "/api/ping", "")[0] == 200
    except OSError:
        return False
