"""Real `semaphore worker` processes: crashes, Redis restarts and the parallel limit.

These start worker processes from the command line with the test's configuration, as the
Procfile does, and play the scheduler's recovery pass themselves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from semaphore import broker
from semaphore.extensions import db
from semaphore.models import Task
from semaphore.scheduler import recovery as task_recovery
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.processes import Processes, descendants

pytestmark = pytest.mark.single_db

SCRIPTS = {
    "hello.sh": 'echo "hello once"\n',
    "slow.sh": "for i in $(seq 1 600); do echo tick $i; sleep 0.1; done\n",
    "second.sh": "echo start; sleep 1; echo end\n",
}


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("worker-scripts"), SCRIPTS, "scripts")


@pytest.fixture
def spawn_worker(processes: Processes):
    return processes.worker


def _template(project, script_repo, script):
    repository = factories.repository(
        project=project, git_url=f"file://{script_repo}", git_branch="main"
    )
    return factories.template(
        project=project, app="bash", playbook=script, repository_id=repository.id, inventory_id=None
    )


def _output(task_id: int) -> list[str]:
    db.session.expire_all()
    return [line.output for line in task_output.read_lines(task_id)]


def _status(task_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Task, task_id).status


def _wait_for(condition, timeout: float, recovery: task_recovery.Recovery | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if recovery is not None:
            recovery.recover()
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not reached within {timeout} s")


def test_a_worker_killed_mid_task_ends_it_in_error_keeping_output(app, spawn_worker, script_repo):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = _template(project, script_repo, "slow.sh")
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    worker = spawn_worker()
    _wait_for(lambda: "tick 5" in _output(task.id), 60)
    # The machine dies: the worker and the script all go at once.
    for pid in [worker.pid, *descendants(worker.pid)]:
        with contextlib.suppress(ProcessLookupError):  # a `sleep` of the script just ended
            os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    _wait_for(lambda: _status(task.id) == "error", 60, task_recovery.Recovery())
    assert time.monotonic() - killed_at < 60
    lines = _output(task.id)
    assert "tick 5" in lines and lines[-1] == task_recovery.WORKER_LOST


def test_a_task_waiting_through_a_redis_restart_runs_exactly_once(
    app, redis_server, spawn_worker, script_repo
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = _template(project, script_repo, "hello.sh")
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    # The test server keeps nothing on disk: a restart loses the queued wake-up.
    redis_server.stop()
    redis_server.start()
    assert broker.connection().llen("rq:queue:tasks") == 0
    spawn_worker()
    spawn_worker()
    _wait_for(lambda: _status(task.id) == "success", 60, task_recovery.Recovery())
    time.sleep(2)  # a duplicate run, if there were one, would have written by now
    assert _output(task.id).count("hello once") == 1
    assert _status(task.id) == "success"


@pytest.mark.parametrize("config_overrides", [{"max_parallel_tasks": 2}])
def test_three_workers_never_run_more_than_two_tasks_at_once(app, spawn_worker, script_repo):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    access = project_access(owner, project.id)
    started = [
        tasks.create_task(access, {"template_id": _template(project, script_repo, "second.sh").id})
        for _ in range(5)
    ]
    for _ in range(3):
        spawn_worker()
    ids = [t.id for t in started]
    _wait_for(lambda: all(_status(i) == "success" for i in ids), 90, task_recovery.Recovery())
    db.session.expire_all()
    spans = [(t.start, t.end) for t in db.session.scalars(select(Task).where(Task.id.in_(ids)))]
    moments = sorted({s for s, _ in spans} | {e for _, e in spans})
    overlap = [sum(1 for s, e in spans if s <= m < e) for m in moments]
    assert max(overlap) == 2


def test_stop_all_tasks_stops_running_and_waiting_runs_and_frees_the_template(
    app, spawn_worker, script_repo
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    access = project_access(owner, project.id)
    template = _template(project, script_repo, "slow.sh")
    other = _template(project, script_repo, "slow.sh")
    running = tasks.create_task(access, {"template_id": template.id})
    spawn_worker()
    spawn_worker()  # the other template's task has a worker of its own
    _wait_for(lambda: "tick 3" in _output(running.id), 60)
    # One template runs one task at a time: these two wait behind the running one.
    waiting = [tasks.create_task(access, {"template_id": template.id}) for _ in range(2)]
    untouched = tasks.create_task(access, {"template_id": other.id})
    client = factories.api_client(app, owner)
    path = f"/api/project/{project.id}/templates/{template.id}/stop_all_tasks"
    assert client.post(path, json={"force": False}).status_code == 204
    ids = [running.id, *(task.id for task in waiting)]
    _wait_for(lambda: all(_status(task_id) == "stopped" for task_id in ids), 60)
    assert _status(untouched.id) in ("waiting", "starting", "running")
    # The template is free again: a new run of it starts and runs.
    again = tasks.create_task(access, {"template_id": template.id})
    _wait_for(lambda: "tick 2" in _output(again.id), 60)
    assert client.post(path).status_code == 204  # no body: not forced
    _wait_for(lambda: _status(again.id) == "stopped", 60)
    assert tasks.stop_template_tasks(access, template.id, {}) == []
    tasks.stop_task(access, untouched.id, {})
