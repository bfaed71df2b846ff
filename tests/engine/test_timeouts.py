"""A run's time limit: which setting applies, and a run past it stopped as a stop is, ending
`error` with a last line that names the setting."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import replace
from itertools import count

import pytest

from semaphore.engine.runner import timeout_message
from semaphore.engine.spec import (
    GLOBAL_LIMIT,
    TEMPLATE_LIMIT,
    InventorySpec,
    TaskSpec,
    duration_limit,
)
from tests.engine.conftest import Run, leftovers, run_task, start, task
from tests.engine.test_terraform import tf_task

pytestmark = pytest.mark.single_db

_markers = count(1)


def sleep_marker() -> str:
    """`sleep` of about 60 s with an argument no other process has: pgrep finds this run's."""
    return f"sleep 60.{os.getpid()}{next(_markers)}"


def sleep_script(marker: str) -> str:
    """A script that says it started, sleeps about 60 s, and would say "never" afterwards."""
    return f'echo "started"\n{marker}\necho "never"\n'


def running(marker: str) -> bool:
    return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0


def timed_run(make_repo, settings, script: str, source: str) -> tuple[TaskSpec, Run, float]:
    """The script run under a 1 s limit from `source`; with the seconds the run took."""
    repo = make_repo({"run.sh": script})
    spec = task(repo.url, max_duration_sec=1, max_duration_source=source)
    began = time.monotonic()
    run = run_task(spec, settings)
    return spec, run, time.monotonic() - began


@pytest.mark.parametrize(
    "template_sec,global_sec,expected",
    [
        (None, 0, (0, "")),
        (0, 0, (0, "")),
        (5, 0, (5, TEMPLATE_LIMIT)),
        (None, 7, (7, GLOBAL_LIMIT)),
        (0, 7, (7, GLOBAL_LIMIT)),
        (5, 7, (5, TEMPLATE_LIMIT)),
        (9, 7, (7, GLOBAL_LIMIT)),
        (7, 7, (7, TEMPLATE_LIMIT)),
    ],
)
def test_the_smaller_non_zero_limit_applies(template_sec, global_sec, expected) -> None:
    assert duration_limit(template_sec, global_sec) == expected


def test_the_message_names_the_setting() -> None:
    spec = task("/srv/repo", max_duration_sec=2, max_duration_source=TEMPLATE_LIMIT)
    assert timeout_message(spec) == (
        "The task ran longer than the template's max_task_duration_sec (2 s) and was stopped."
    )
    spec = replace(spec, max_duration_sec=600, max_duration_source=GLOBAL_LIMIT)
    assert timeout_message(spec) == (
        "The task ran longer than max_task_duration_sec (600 s) and was stopped."
    )


@pytest.mark.parametrize("source", [TEMPLATE_LIMIT, GLOBAL_LIMIT])
def test_a_run_past_its_limit_is_stopped_and_ends_error(make_repo, settings, source) -> None:
    marker = sleep_marker()
    spec, run, took = timed_run(make_repo, settings, sleep_script(marker), source)
    assert run.result.status == "error", run.output
    assert run.result.message == timeout_message(spec)
    assert run.lines[-1] == timeout_message(spec)
    assert "started" in run.lines and "never" not in run.lines
    assert took < 1 + settings.stop_grace_seconds, took  # SIGTERM ended it, no SIGKILL needed
    assert not running(marker)
    assert leftovers(settings) == []


def test_a_run_ignoring_sigterm_is_killed_after_the_grace(make_repo, settings) -> None:
    marker = sleep_marker()
    # An ignored signal stays ignored in the children: the sleep outlives SIGTERM too.
    spec, run, took = timed_run(make_repo, settings, f"trap '' TERM\n{marker}\n", GLOBAL_LIMIT)
    assert run.result.status == "error"
    assert run.lines[-1] == timeout_message(spec)
    assert 1 + settings.stop_grace_seconds <= took < 1 + settings.stop_grace_seconds + 3, took
    assert not running(marker)


def test_a_run_within_its_limit_is_untouched(make_repo, settings) -> None:
    repo = make_repo({"run.sh": "sleep 0.2\necho done\n"})
    spec = task(repo.url, max_duration_sec=30, max_duration_source=TEMPLATE_LIMIT)
    before = set(threading.enumerate())
    run = run_task(spec, settings)
    assert run.result.status == "success"
    assert run.lines[-1] == "done"
    # The clock is cancelled with the run, not left to fire 30 s later.
    time.sleep(0.1)
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]


def test_a_users_stop_before_the_limit_stays_a_stop(make_repo, settings) -> None:
    marker = sleep_marker()
    # SIGTERM ignored: the stopped run outlives its limit by the grace, and is still a stop.
    repo = make_repo({"run.sh": f"trap '' TERM\necho started\n{marker}\n"})
    spec = task(repo.url, max_duration_sec=1, max_duration_source=TEMPLATE_LIMIT)
    runner, run = start(spec, settings)

    def stop_once_started() -> None:
        while "started" not in run.lines:
            time.sleep(0.02)
        runner.stop()

    threading.Thread(target=stop_once_started, daemon=True).start()
    run.result = runner.run()
    assert run.result.status == "stopped"
    assert timeout_message(spec) not in run.lines
    assert not running(marker)


def test_waiting_for_confirmation_counts(make_repo, settings) -> None:
    infra = make_repo({"infra/main.tf": 'resource "null_resource" "x" {}\n'})
    spec = tf_task(
        infra,
        inventory=InventorySpec(type="terraform-workspace", inventory="staging"),
        max_duration_sec=2,
        max_duration_source=TEMPLATE_LIMIT,
    )
    holder: dict = {}

    def confirm() -> bool:
        # As the worker's and the runner's jobs wait: until an answer, or the run is stopped.
        while not holder["runner"].stopped:
            time.sleep(0.05)
        return False

    runner, run = start(spec, settings, confirm=confirm)
    holder["runner"] = runner
    began = time.monotonic()
    run.result = runner.run()
    assert run.statuses == ["waiting_confirmation"]
    assert run.result.status == "error"
    assert run.lines[-1] == timeout_message(spec)
    assert time.monotonic() - began < 4
