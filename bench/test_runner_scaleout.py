"""Short tasks through remote runners beside RQ workers (issue 18): tasks/s with 1 and 4
`semaphore runner` processes (max_parallel_tasks 1 each, as a worker runs one task at a time)
and with 1 and 4 `semaphore worker`s, in the same run; and the time from POST to the script's
first line with an idle runner and an idle worker (median of 20): the line's own time (when
the runner or worker read it) and when it was stored on the server.

200 `echo hi` tasks over 8 templates (checkouts warmed first), one project without a limit of
its own; the runners' templates carry a runner tag, the workers' none. SQLite.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import FINISHED_STATUSES, Runner, Task, utcnow
from semaphore.security.tokens import digest
from semaphore.services.tasks import output as task_output
from tests import factories

TASKS = 200
TEMPLATES = 8
LATENCY_RUNS = 20

pytestmark = pytest.mark.single_db


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("short"), {"hi.sh": "echo hi\n"})


def _finished(ids: list[int]) -> int:
    db.session.expire_all()
    query = select(func.count()).where(Task.id.in_(ids), Task.status.in_(FINISHED_STATUSES))
    return db.session.scalar(query)


def _runner(processes, address: str, tmp_path: Path, n: int) -> subprocess.Popen:
    """A registered, active `semaphore runner start` with no database or Redis URL."""
    token = f"bench-runner-{n}-{time.monotonic_ns()}"
    db.session.add(Runner(name=f"bench {n}", token_hash=digest(token), active=True, tags=["b"]))
    db.session.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEMAPHORE_")}
    env.update(
        SEMAPHORE_WEB_ROOT=f"http://{address}",
        SEMAPHORE_RUNNER_TOKEN=token,
        SEMAPHORE_RUNNER_MAX_PARALLEL_TASKS="1",
        SEMAPHORE_TMP_PATH=str(tmp_path / f"runner-{n}"),
        SEMAPHORE_DATA_DIR=str(tmp_path / f"runner-{n}-data"),
        SEMAPHORE_LOG_LEVEL="WARNING",
        SEMAPHORE_TASK_SANDBOX=str(processes.config.task_sandbox).lower(),
    )
    log = open(tmp_path / f"runner-{n}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "semaphore", "--no-config", "runner", "start"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    processes.started.append(process)
    return process


def _templates(project, repository, tag: str | None) -> list[int]:
    return [
        factories.template(
            project=project,
            app="bash",
            playbook="hi.sh",
            repository_id=repository.id,
            inventory_id=None,
            runner_tag=tag,
        ).id
        for _ in range(TEMPLATES)
    ]


def _measure(client, project_id: int, templates: list[int]) -> dict[str, float]:
    def post(template_id: int) -> int:
        answer = client.post(f"/api/project/{project_id}/tasks", json={"template_id": template_id})
        return answer.get_json()["id"]

    warm = [post(t) for t in templates]
    while _finished(warm) < len(warm):
        time.sleep(0.05)
    read, stored = [], []
    for _ in range(LATENCY_RUNS):
        began, began_at = time.perf_counter(), utcnow()
        task_id = post(templates[0])
        while True:
            db.session.expire_all()
            lines = [line for line in task_output.read_lines(task_id) if line.output == "hi"]
            if lines:
                break
            time.sleep(0.002)
        stored.append(time.perf_counter() - began)
        line_time = (
            lines[0].time.replace(tzinfo=UTC) if lines[0].time.tzinfo is None else (lines[0].time)
        )
        read.append((line_time - began_at.replace(tzinfo=UTC)).total_seconds())
        while _finished([task_id]) < 1:
            time.sleep(0.01)
    began = time.perf_counter()
    ids = [post(templates[n % TEMPLATES]) for n in range(TASKS)]
    while _finished(ids) < TASKS:
        time.sleep(0.05)
    elapsed = time.perf_counter() - began
    return {
        "rate": TASKS / elapsed,
        "read": statistics.median(read),
        "stored": statistics.median(stored),
    }


@pytest.mark.parametrize("config_overrides", [{"max_parallel_tasks": 0}])
def test_runners_beside_workers(app, processes, script_repo, tmp_path):
    owner = factories.user()
    project = factories.project(members={owner: "owner"}, max_parallel_tasks=0)
    repository = factories.repository(
        project=project, git_url=f"file://{script_repo}", git_branch="main"
    )
    client = factories.api_client(app, owner)
    address = processes.web(workers=2)
    results = {}
    for kind, count in (("workers", 1), ("runners", 1), ("workers", 4), ("runners", 4)):
        if kind == "workers":
            started = [processes.worker() for _ in range(count)]
            templates = _templates(project, repository, None)
        else:
            started = [_runner(processes, address, tmp_path, n) for n in range(count)]
            templates = _templates(project, repository, "b")
        time.sleep(3)  # idle and polling / listening
        results[(kind, count)] = _measure(client, project.id, templates)
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=60)
        if kind == "runners":
            db.session.execute(Runner.__table__.update().values(active=False))
            db.session.commit()
    for (kind, count), figures in results.items():
        print(
            f"\n{count} {kind}: {figures['rate']:.1f} tasks/s; POST -> the script's first "
            f"line read {figures['read'] * 1000:.0f} ms, stored {figures['stored'] * 1000:.0f} "
            "ms (medians of 20, idle)"
        )
    for count in (1, 4):
        ratio = results[("runners", count)]["rate"] / results[("workers", count)]["rate"]
        print(f"{count} runner(s) / {count} worker(s): {ratio:.0%} of the tasks/s")
