"""The server goes away mid-task and comes back on the same port: the runner keeps running
the job and every line arrives once, in order, with the time it was produced."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from semaphore.services.tasks import output as task_output
from tests import factories
from tests.remote_runner.conftest import assign, bash_template, output_of, status_of, wait_for

pytestmark = pytest.mark.single_db


def test_output_is_kept_while_the_server_is_away(runner_cli, server, script_repo):
    runner = runner_cli.register()
    task = assign(runner, bash_template(factories.project(), script_repo, "ticks.sh"))
    runner_cli.start()
    wait_for(lambda: "tick 5" in output_of(task.id), 60, runner_cli.log())
    server.stop()
    away = datetime.now(UTC)
    time.sleep(3)
    back = datetime.now(UTC)
    server.start()
    wait_for(lambda: status_of(task.id) == "success", 60, runner_cli.log())
    lines = task_output.read_lines(task.id)
    ticks = [line.output for line in lines if line.output.startswith("tick ")]
    assert ticks == [f"tick {i}" for i in range(1, 61)]
    # The lines the script wrote while the server was away keep the times they were read.
    times = [line.time.replace(tzinfo=UTC) for line in lines]
    assert times == sorted(times)
    assert sum(1 for at in times if away < at < back) >= 20
    assert "report not sent, kept for the next try" in runner_cli.log()
