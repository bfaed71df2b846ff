"""Task engine figures (issues 5 and 17): start latency and stored output throughput.

* start: POST /api/project/{id}/tasks -> the task's first output line is in the database, with
  an idle `semaphore worker` process waiting; beside raw `subprocess.run(["bash","-c","echo hi"])`.
  Target: median <= 0.3 s.
* throughput: a task printing 1,000,000 lines, lines stored per second; beside the same script
  piped to /dev/null. Targets: >= 200,000 lines/s stored (issue 5); the lines stored in <= 3x
  the script's own time (issue 17), measured from the script's first line to the task's end
  (the checkout before it is the start latency's part), and POST -> done beside it.

Run with `make bench` (it loads the test suite's fixtures: real Redis, SQLite and PostgreSQL).
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

import pytest

from semaphore.extensions import db
from semaphore.models import Task
from semaphore.services.tasks import output as task_output
from tests import factories

MILLION = 1_000_000
SCRIPTS = {
    "hi.sh": "echo hi\n",
    "million.sh": f"seq 1 {MILLION} | sed 's/^/line /'\n",
}


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("bench-scripts"), SCRIPTS, "scripts")


@pytest.fixture
def worker(processes):
    process = processes.worker()
    time.sleep(3)  # idle and listening
    return process


def _setup(app, script_repo, script):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    repository = factories.repository(
        project=project, git_url=f"file://{script_repo}", git_branch="main"
    )
    template = factories.template(
        project=project,
        app="bash",
        playbook=script,
        repository_id=repository.id,
        inventory_id=None,
    )
    return project, template, factories.api_client(app, owner)


def _wait_done(task_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        if db.session.get(Task, task_id).status in ("success", "error", "stopped"):
            return
        time.sleep(0.02)
    raise AssertionError("task did not finish")


def test_start_latency(app, worker, script_repo):
    project, template, client = _setup(app, script_repo, "hi.sh")
    # Warm the checkout so that every measured run is a fetch, as in steady use.
    warm = client.post(f"/api/project/{project.id}/tasks", json={"template_id": template.id})
    _wait_done(warm.get_json()["id"], 60)
    latencies, script_latencies = [], []
    for _ in range(20):
        began = time.perf_counter()
        task_id = client.post(
            f"/api/project/{project.id}/tasks", json={"template_id": template.id}
        ).get_json()["id"]
        while True:
            db.session.expire_all()
            if task_output.last_seq(task_id):
                break
            time.sleep(0.002)
        latencies.append(time.perf_counter() - began)
        while "hi" not in [line.output for line in task_output.read_lines(task_id)]:
            db.session.expire_all()
            time.sleep(0.002)
        script_latencies.append(time.perf_counter() - began)
        _wait_done(task_id, 60)
    baseline = []
    for _ in range(20):
        began = time.perf_counter()
        subprocess.run(["bash", "-c", "echo hi"], check=True, capture_output=True)
        baseline.append(time.perf_counter() - began)
    median, base = statistics.median(latencies), statistics.median(baseline)
    backend = app.config["SEMAPHORE"].database_url.split(":")[0]
    print(
        f"\n[{backend}] start latency: median {median * 1000:.1f} ms (target <= 300 ms); "
        f"raw bash median {base * 1000:.2f} ms; ratio {median / base:.0f}x; "
        f"to the script's own first line (after the git fetch): median "
        f"{statistics.median(script_latencies) * 1000:.1f} ms"
    )


def test_output_throughput(app, worker, script_repo):
    project, template, client = _setup(app, script_repo, "million.sh")
    began = time.perf_counter()
    task_id = client.post(
        f"/api/project/{project.id}/tasks", json={"template_id": template.id}
    ).get_json()["id"]
    _wait_done(task_id, 600)
    elapsed = time.perf_counter() - began
    stored = task_output.last_seq(task_id)
    raws = []
    for _ in range(3):
        began = time.perf_counter()
        subprocess.run(["bash", "-c", SCRIPTS["million.sh"].strip() + " > /dev/null"], check=True)
        raws.append(time.perf_counter() - began)
    raw = statistics.median(raws)
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    first = next(line for line in task_output.iter_lines(task_id) if line.output == "line 1")
    ingest = (task.end - first.time).total_seconds()
    backend = app.config["SEMAPHORE"].database_url.split(":")[0]
    print(
        f"\n[{backend}] throughput: {stored} lines stored in {elapsed:.2f} s POST -> done = "
        f"{stored / elapsed:,.0f} lines/s (target >= 200,000); the script alone to /dev/null: "
        f"{MILLION / raw:,.0f} lines/s ({raw:.2f} s, median of 3); POST -> done "
        f"{elapsed / raw:.1f}x the script; its first line -> the task's end {ingest:.2f} s = "
        f"{ingest / raw:.1f}x the script (target <= 3x)"
    )
    assert stored >= MILLION
