"""`semaphore runner start` runs the server's jobs: output with its own times, statuses,
stops, a lost run, one_off, the parallel limit and shutdown."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime

import pytest

from semaphore.extensions import db
from semaphore.models import Task
from semaphore.remote_runner.job import RESTARTED_LINE, SHUT_DOWN_LINE
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.remote_runner.conftest import assign, bash_template, output_of, status_of, wait_for

pytestmark = pytest.mark.single_db


@pytest.fixture
def project():
    return factories.project()


def test_a_bash_task_runs_and_its_lines_arrive_with_their_own_times(
    runner_cli, project, script_repo
):
    runner = runner_cli.register()
    task = assign(runner, bash_template(project, script_repo, "hello.sh"))
    before = datetime.now(UTC)
    runner_cli.start()
    wait_for(lambda: status_of(task.id) == "success", 60, runner_cli.log())
    lines = list(task_output.read_lines(task.id))
    texts = [line.output for line in lines]
    assert texts[0] == f"Preparing: {task.id}"
    assert texts[-2:] == ["hello from the runner", "second line"]
    times = [line.time.replace(tzinfo=UTC) for line in lines]
    assert times == sorted(times) and before <= times[0] <= times[-1] <= datetime.now(UTC)
    # Each line carries the time the engine read it, not the time the report arrived: the
    # checkout's lines come well before the script's.
    assert len(set(times)) > 1
    db.session.expire_all()
    done = db.session.get(Task, task.id)
    assert done.start is not None and done.end is not None
    assert done.commit_hash and done.commit_message == "scripts"


def test_a_task_set_stopping_is_killed_and_ends_stopped_within_2_s(
    runner_cli, project, script_repo
):
    runner = runner_cli.register()
    task = assign(runner, bash_template(project, script_repo, "slow.sh"))
    runner_cli.start()
    wait_for(lambda: "tick 3" in output_of(task.id), 60, runner_cli.log())
    db.session.get(Task, task.id).status = "stopping"
    db.session.commit()
    asked = time.monotonic()
    wait_for(lambda: status_of(task.id) == "stopped", 10, runner_cli.log())
    assert time.monotonic() - asked < 2
    ticks = len(output_of(task.id))
    time.sleep(1.5)
    assert len(output_of(task.id)) == ticks  # the script is dead


def test_a_task_running_on_the_server_but_unknown_to_the_runner_ends_error(
    runner_cli, project, script_repo
):
    runner = runner_cli.register()
    # The runner was restarted while it ran this task: the new process never saw it.
    task = assign(runner, bash_template(project, script_repo, "hello.sh"), status="running")
    runner_cli.start()
    wait_for(lambda: status_of(task.id) == "error", 30, runner_cli.log())
    assert output_of(task.id) == [RESTARTED_LINE]


def test_one_off_exits_0_once_its_first_job_is_done_and_reported(runner_cli, project, script_repo):
    runner = runner_cli.register()
    template = bash_template(project, script_repo, "hello.sh")
    task = assign(runner, template)
    process = runner_cli.start(SEMAPHORE_RUNNER_ONE_OFF="true")
    assert process.wait(timeout=60) == 0, runner_cli.log()
    assert status_of(task.id) == "success"
    assert output_of(task.id)[-1] == "second line"


def test_at_most_max_parallel_tasks_jobs_run_at_once(runner_cli, project, script_repo):
    runner = runner_cli.register()
    tasks = [assign(runner, bash_template(project, script_repo, "two.sh")) for _ in range(3)]
    runner_cli.start()  # max_parallel_tasks defaults to 1
    ids = [task.id for task in tasks]
    wait_for(lambda: all(status_of(i) == "success" for i in ids), 60, runner_cli.log())
    db.session.expire_all()
    spans = sorted((t.start, t.end) for t in (db.session.get(Task, i) for i in ids))
    assert all(
        end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False)
    )


def test_sigterm_stops_the_jobs_reports_them_and_exits_0(runner_cli, project, script_repo):
    runner = runner_cli.register()
    task = assign(runner, bash_template(project, script_repo, "slow.sh"))
    process = runner_cli.start()
    wait_for(lambda: "tick 2" in output_of(task.id), 60, runner_cli.log())
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, runner_cli.log()
    assert status_of(task.id) == "error"
    assert output_of(task.id)[-1] == SHUT_DOWN_LINE


def test_a_runner_deleted_on_the_server_exits_1(runner_cli, project, script_repo):
    runner = runner_cli.register()
    process = runner_cli.start()
    time.sleep(1.5)
    db.session.delete(db.session.get(type(runner), runner.id))
    db.session.commit()
    assert process.wait(timeout=30) == 1
    assert "does not know this runner's token" in runner_cli.log()
