"""A real `semaphore worker` runs its jobs itself, without a work-horse per job (issue 17):
it keeps nothing of a task once the task has ended (no open file, no thread, no process but
the one janitor its first run started), a first stop signal lets the running task finish, a
second one stops the worker at once and takes the task's processes with it; a long job keeps
the worker's registration alive."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from rq import Worker

from semaphore import broker
from semaphore.engine import supervisor
from semaphore.scheduler import recovery as task_recovery
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from tests import factories
from tests.processes import Processes, descendants
from tests.tasks.test_workers import SCRIPTS, _output, _status, _template, _wait_for

pytestmark = pytest.mark.single_db

SHORT_TASKS = 8


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("in-process"), SCRIPTS, "scripts")


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _queued(script_repo: Path, script: str):
    """A waiting task running `script`, in a project of its own."""
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = _template(project, script_repo, script)
    return tasks.create_task(project_access(owner, project.id), {"template_id": template.id})


def _run_one(access, template) -> None:
    task = tasks.create_task(access, {"template_id": template.id})
    _wait_for(lambda: _status(task.id) == "success", 60)


def test_a_worker_keeps_nothing_of_the_tasks_it_ran(app, processes: Processes, script_repo):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    access = project_access(owner, project.id)
    template = _template(project, script_repo, "hello.sh")
    worker = processes.worker()
    # The first run opens what every run shares: a connection, the worker's janitor.
    _run_one(access, template)
    time.sleep(1)
    files, threads = _open_files(worker.pid), _threads(worker.pid)
    [janitor] = descendants(worker.pid)
    assert "supervisor.py janitor" in _command_line(janitor)
    for _ in range(SHORT_TASKS - 1):
        _run_one(access, template)
    time.sleep(1)
    # The same open files and threads after seven more runs; no process left behind but the
    # same janitor.
    assert (_open_files(worker.pid), _threads(worker.pid)) == (files, threads)
    assert descendants(worker.pid) == [janitor]
    # Each task was one RQ job, run by this worker itself.
    [registered] = Worker.all(connection=broker.connection())
    assert registered.pid == worker.pid
    assert registered.successful_job_count == SHORT_TASKS


def test_a_first_stop_signal_lets_the_task_finish(app, processes: Processes, script_repo):
    task = _queued(script_repo, "second.sh")
    worker = processes.worker()
    _wait_for(lambda: "start" in _output(task.id), 60)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert _status(task.id) == "success"
    assert _output(task.id)[-1] == "end"


def test_a_second_stop_signal_stops_the_worker_and_the_tasks_processes_at_once(
    app, processes: Processes, script_repo
):
    task = _queued(script_repo, "slow.sh")
    worker = processes.worker()
    _wait_for(lambda: "tick 3" in _output(task.id), 60)
    below = [(pid, supervisor.process_start(pid)) for pid in descendants(worker.pid)]
    assert below  # the script, its sandbox, the worker's janitor
    worker.send_signal(signal.SIGTERM)
    time.sleep(1.5)  # RQ takes a second signal within a second for the same one
    assert _status(task.id) == "running"  # the first one waits for the task
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=15)
    _wait_for(lambda: not any(supervisor.is_alive(pid, start) for pid, start in below), 10)
    # Nobody runs it any more: recovery ends it as lost, its output kept.
    _wait_for(lambda: _status(task.id) == "error", 60, task_recovery.Recovery())
    lines = _output(task.id)
    assert "tick 3" in lines and lines[-1] == task_recovery.WORKER_LOST


def test_a_long_job_keeps_the_workers_registration_alive(app):
    # The job has the worker's main thread: a thread of its own renews the worker's key in
    # Redis (RQ's forking worker did that while it watched the horse).
    from rq import Queue

    from semaphore.jobs.worker import SemaphoreWorker

    connection = broker.connection()
    queue = Queue("in-process-test", connection=connection)
    job = queue.enqueue("time.sleep", 1.5, job_timeout=-1)
    worker = SemaphoreWorker([queue], connection=connection, job_monitoring_interval=0.2)
    beats: list[bytes] = []

    def watch() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(set(beats)) < 4:
            beat = connection.hget(worker.key, "last_heartbeat")
            if beat is not None and connection.hget(worker.key, "state") == b"busy":
                beats.append(beat)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert worker.work(burst=True)
    watcher.join()
    assert len(set(beats)) >= 4  # renewed several times while the job ran
    assert job.get_status(refresh=True) == "finished"
