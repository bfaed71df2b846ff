"""Running commands: streamed lines with times, process groups, stop with SIGTERM then SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from semaphore.engine import supervisor
from semaphore.engine.process import ProcessRunner, TaskStopped
from tests.engine.conftest import start, task

pytestmark = pytest.mark.single_db


def collect() -> tuple[list[tuple[str, datetime]], ProcessRunner]:
    lines: list[tuple[str, datetime]] = []
    # One read's lines come together, joined by "\n".
    runner = ProcessRunner(
        lambda text, at: lines.extend((line, at) for line in text.split("\n")), grace_seconds=1.0
    )
    return lines, runner


def test_lines_from_stdout_and_stderr_carry_their_read_time(tmp_path: Path) -> None:
    lines, runner = collect()
    before = datetime.now(UTC)
    status = runner.run(
        ["bash", "-c", "echo out; echo err >&2; printf 'no newline\\r\\n'; printf last; exit 3"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
    )
    assert status == 3
    assert sorted(text for text, _ in lines) == ["err", "last", "no newline", "out"]
    assert all(before <= at <= datetime.now(UTC) for _, at in lines)


def test_prompts_are_answered_on_a_terminal_with_echo_off(tmp_path: Path) -> None:
    lines, runner = collect()
    script = (
        'read -r -p "Token: " a; read -r -p "Other prompt: " b; echo "[$a][$b]"; '
        "stty -a | grep -o -- '-echo ' | head -1"
    )
    status = runner.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        answers={"Token:": "abc", "Other prompt": "x y"},
    )
    assert status == 0
    texts = [text for text, _ in lines]
    assert "[abc][x y]" in texts
    assert "-echo " in texts  # the answers were never echoed into the output


def test_without_answers_stdin_is_empty(tmp_path: Path) -> None:
    lines, runner = collect()
    runner.run(["bash", "-c", "cat; echo done"], cwd=tmp_path, env={})
    assert [text for text, _ in lines] == ["done"]


def test_each_command_gets_its_own_process_group_led_by_its_supervisor(tmp_path: Path) -> None:
    lines, runner = collect()
    runner.run(["bash", "-c", "ps -o pgid= -p $$; echo $PPID"], cwd=tmp_path, env={})
    pgid, parent = (text.strip() for text, _ in lines)
    assert pgid == parent  # the supervisor leads the group and reaps the whole tree
    assert int(pgid) != os.getpgrp()


def test_a_background_child_holding_the_pipes_does_not_hold_the_run(tmp_path: Path) -> None:
    lines, runner = collect()
    began = time.monotonic()
    status = runner.run(["bash", "-c", "sleep 60 & echo bye"], cwd=tmp_path, env={})
    assert status == 0
    assert [text for text, _ in lines] == ["bye"]
    assert time.monotonic() - began < 10  # DRAIN_SECONDS, with room for a loaded machine


def test_no_command_starts_after_a_stop(tmp_path: Path) -> None:
    _, runner = collect()
    runner.stop()
    with pytest.raises(TaskStopped):
        runner.run(["true"], cwd=tmp_path, env={})


def _stop_when(runner, run, text: str) -> dict[str, float | int | None]:
    """Stop the runner once `text` is output; note the pid stopped and when."""
    stopped: dict[str, float | int | None] = {}

    def watch() -> None:
        deadline = time.monotonic() + 20
        while text not in run.lines and time.monotonic() < deadline:
            time.sleep(0.02)
        stopped["pid"] = runner.pid
        stopped["at"] = time.monotonic()
        runner.stop()

    threading.Thread(target=watch, daemon=True).start()
    return stopped


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group remains (orphans take a moment to be reaped)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.02)
    return True


def test_stop_terminates_the_whole_group_within_the_grace_period(tmp_path, settings) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "run.sh").write_text("sleep 100 &\necho started\nsleep 100\n")
    # A long grace period: ending well before it shows SIGTERM alone did it.
    settings = replace(settings, stop_grace_seconds=8.0)
    runner, run = start(task(str(scripts)), settings)
    stopped = _stop_when(runner, run, "started")
    result = runner.run()
    elapsed = time.monotonic() - stopped["at"]
    assert result.status == "stopped"
    assert elapsed < 6  # SIGTERM was enough: no SIGKILL needed
    assert stopped["pid"] and not _group_alive(stopped["pid"])  # the background sleep too


def test_a_process_ignoring_sigterm_gets_sigkill_after_the_grace_period(tmp_path, settings):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    # The ignored SIGTERM is inherited by sleep as well.
    (scripts / "run.sh").write_text("trap '' TERM\necho started\nsleep 100\necho unreachable\n")
    settings = replace(settings, stop_grace_seconds=1.0)
    runner, run = start(task(str(scripts)), settings)
    stopped = _stop_when(runner, run, "started")
    result = runner.run()
    elapsed = time.monotonic() - stopped["at"]
    assert result.status == "stopped"
    assert settings.stop_grace_seconds <= elapsed < settings.stop_grace_seconds + 5
    assert "unreachable" not in run.lines


def test_what_a_command_leaves_running_is_killed_when_it_exits(tmp_path: Path) -> None:
    # Daemonized (setsid, output elsewhere): no pipe holds the run, the supervisor ends it.
    pid_file = tmp_path / "daemon.pid"
    lines, runner = collect()
    script = f"setsid bash -c 'echo $$ > {pid_file}; exec sleep 300' >/dev/null 2>&1 < /dev/null &"
    status = runner.run(["bash", "-c", f"{script} sleep 0.3; echo bye"], cwd=tmp_path, env={})
    assert status == 0 and [text for text, _ in lines] == ["bye"]
    daemon = int(pid_file.read_text())
    assert not supervisor.is_alive(daemon, None)


def test_the_tree_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """A SIGKILLed parent (a work-horse) takes the supervised command's whole tree with it,
    daemonized descendants included, with no sandbox."""
    pid_file = tmp_path / "daemon.pid"
    parent = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys; from semaphore.engine.process import ProcessRunner\n"
            "ProcessRunner(lambda *a: print(*a[:1], flush=True)).run("
            f"['bash', '-c', \"(setsid sleep 301 & echo $! > {pid_file}); echo up; sleep 302\"],"
            f" cwd='{tmp_path}', env={{}})"
        )],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert parent.stdout.readline().strip() == "up"
    below = supervisor.descendants(parent.pid)
    assert len(below) >= 3  # supervisor, bash, sleep 302, the daemonized sleep 301
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while any(supervisor.is_alive(pid, None) for pid in below) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in below if supervisor.is_alive(pid, None)] == []
    assert not supervisor.is_alive(int(pid_file.read_text()), None)


def test_a_missing_program_raises_as_popen_does(tmp_path: Path) -> None:
    _, runner = collect()
    with pytest.raises(FileNotFoundError):
        runner.run(["no-such-program-here"], cwd=tmp_path, env={"PATH": "/usr/bin"})
    with pytest.raises(FileNotFoundError):
        runner.run([str(tmp_path / "missing")], cwd=tmp_path, env={})
