"""git runs unsandboxed but confined (issue 17 moved it from the Python supervisor into a pid
namespace of bubblewrap's when the sandbox works): a stop during a checkout ends the run and
everything git started, even a process that left git's session; so does the death of the
process running the task. Both confinements are checked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from semaphore.engine import supervisor
from semaphore.engine.sandbox import Contained
from tests.engine.conftest import start, task

pytestmark = pytest.mark.single_db

# A git that hangs in fetch and clone, after starting a process of its own session (setsid,
# found by its unique argument: a pid namespace's pids mean nothing outside it): what a stuck
# ssh or credential helper would be.
HANGING_GIT = """#!/bin/sh
case "$*" in
  *clone*|*fetch*)
    setsid sleep {marker} </dev/null >/dev/null 2>&1 &
    echo started > "{pids}"
    echo "hanging in $1"
    sleep 300
    ;;
  *) exec /usr/bin/git "$@" ;;
esac
"""


@pytest.fixture(params=["bubblewrap", "supervisor"])
def git_settings(request, settings, tmp_path: Path):
    tools = tmp_path / "hanging-git"
    tools.mkdir()
    pids = tmp_path / "escaped.pid"
    stub = tools / "git"
    stub.write_text(HANGING_GIT.format(pids=pids, marker=_marker(tmp_path)))
    stub.chmod(0o755)
    path = f"{tools}:{settings.server_env['PATH']}"
    sandbox = request.param == "bubblewrap"
    return replace(settings, server_env={**settings.server_env, "PATH": path}, sandbox=sandbox)


def _marker(tmp_path: Path) -> str:
    return f"300.{abs(hash(str(tmp_path))) % 10**9}"


def _escaped_pid(tmp_path: Path) -> int:
    pids = tmp_path / "escaped.pid"
    deadline = time.monotonic() + 20
    while not (pids.exists() and pids.read_text().strip()):
        assert time.monotonic() < deadline, "git never started"
        time.sleep(0.05)
    wanted = f"sleep\0{_marker(tmp_path)}\0".encode()
    while True:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if Path(entry.path, "cmdline").read_bytes() == wanted:
                        return int(entry.name)
                except OSError:
                    continue
        assert time.monotonic() < deadline, "the escaped process is not found"
        time.sleep(0.05)


def _gone(pid: int, start_time: int | None, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while supervisor.is_alive(pid, start_time):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_stop_during_the_checkout_ends_git_and_what_it_started(git_settings, tmp_path) -> None:
    runner, run = start(task("https://example.invalid/repo.git"), git_settings)
    used: list[object] = []
    real = runner._process.run

    def recording(argv, **kwargs):
        used.append(kwargs.get("confinement"))
        return real(argv, **kwargs)

    runner._process.run = recording  # type: ignore[method-assign]
    thread = threading.Thread(target=lambda: setattr(run, "result", runner.run()))
    thread.start()
    escaped = _escaped_pid(tmp_path)
    born = supervisor.process_start(escaped)
    runner.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert run.result.status == "stopped"
    assert _gone(escaped, born), "a process git started outlived the stop"
    assert isinstance(used[0], Contained) == git_settings.sandbox


RUN_IN_CHILD = """
import sys, time
from dataclasses import replace
from semaphore.engine.runner import TaskRunner
from semaphore.engine.spec import EngineSettings
from tests.engine.conftest import task
settings = EngineSettings(
    tmp_path=sys.argv[1], server_env={"PATH": sys.argv[2], "LANG": "C.UTF-8"},
    sandbox=sys.argv[3] == "1",
)
TaskRunner(task("https://example.invalid/repo.git"), settings, on_line=lambda *a: None).run()
"""


def test_git_and_what_it_started_die_with_the_process_running_the_task(
    git_settings, tmp_path
) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUN_IN_CHILD,
            git_settings.tmp_path,
            git_settings.server_env["PATH"],
            "1" if git_settings.sandbox else "0",
        ],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        start_new_session=True,
    )
    try:
        escaped = _escaped_pid(tmp_path)
        born = supervisor.process_start(escaped)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        assert _gone(escaped, born), "a process git started outlived the task's process"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_contained_git_sees_the_servers_file_system_and_network_namespace() -> None:
    # What git needs: the checkout cache, the agent's socket, the server's network.
    argv = Contained("/usr/bin/bwrap").wrap(["git", "fetch"], Path("/srv/c"), {})
    assert argv[:3] == ["/usr/bin/bwrap", "--bind", "/"]
    assert "--unshare-net" not in argv and "--unshare-pid" in argv
    assert argv[-3:] == ["--", "git", "fetch"]
