"""A run's files: its record, the process's janitor that removes them when the run's process dies
(one per process, whatever the number of runs), and the sweep that removes what a dead run on this
host left (worker start, every run's start)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from semaphore.engine import supervisor
from semaphore.engine import workspace as workspace_module
from semaphore.engine.workspace import UNRECORDED_GRACE_SECONDS, Workspace, sweep, sweep_due

pytestmark = pytest.mark.single_db


def _old(path: Path) -> Path:
    past = time.time() - UNRECORDED_GRACE_SECONDS - 5
    os.utime(path, (past, past), follow_symlinks=False)
    return path


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])  # noqa: S607
    process.wait()
    return process.pid


def _record(tmp: Path, name: str, **fields) -> Path:
    directory = tmp / name
    directory.mkdir()
    (directory / "extra_vars_secret.json").write_text('{"pw": "x"}')
    record = supervisor.record_of(directory)
    data = {"host": socket.gethostname(), "pid": _dead_pid(), "start": 1, "task_id": 5}
    data.update(fields)
    record.write_text(json.dumps(data))
    return directory


def test_the_record_lists_the_owner_and_what_the_run_made(tmp_path: Path) -> None:
    with Workspace(tmp_path / "tmp", 5) as workspace:
        inventory = workspace.inventory_path()
        stub = workspace.stub(tmp_path / "tmp" / "home_1" / "task_5_x")
        record = json.loads(workspace.record.read_text())
        assert record["pid"] == os.getpid()
        assert record["start"] == supervisor.process_start(os.getpid())
        assert record["host"] == socket.gethostname()
        assert record["paths"] == [str(inventory)] and record["stubs"] == [str(stub)]
        assert workspace.record.name == f".{workspace.dir.name}.run"
        assert oct(workspace.record.stat().st_mode & 0o777) == "0o600"
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_janitor_removes_the_files_when_the_runs_process_dies(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    code = (
        "import sys, time; from semaphore.engine.workspace import Workspace\n"
        f"w = Workspace({str(tmp)!r}, 9).open()\n"
        "w.secret_file('extra_vars_secret.json', 'secret'); w.inventory_path().write_text('x')\n"
        "print(w.dir, flush=True); time.sleep(300)"
    )
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    directory = Path(run.stdout.readline().strip())
    assert (directory / "extra_vars_secret.json").exists() and (tmp / "inventory_9").exists()
    run.kill()
    run.wait()
    deadline = time.monotonic() + 5
    while any(tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp.iterdir()) == []


def _python(code: str, *args: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", code, *map(str, args)]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _go_on(run: subprocess.Popen[str]) -> None:
    run.stdin.write("\n")
    run.stdin.flush()


def _janitors(pid: int) -> list[tuple[int, int | None]]:
    """(pid, start time) of the janitors below pid (the shell, or the Python it became)."""
    found = []
    for child in supervisor.descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"supervisor.py janitor" in cmdline:
            found.append((child, supervisor.process_start(child)))
    return found


def _wait_until(condition, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


MANY_RUNS = """
import sys, time
from semaphore.engine.workspace import Workspace
Workspace(sys.argv[1], 1).open().cleanup()
print("first", flush=True); sys.stdin.readline()
for task in range(2, 12):
    Workspace(sys.argv[1 + task % 2], task).open().cleanup()
a = Workspace(sys.argv[1], 20).open()
a.secret_file("extra_vars_secret.json", "secret"); a.inventory_path().write_text("x")
b = Workspace(sys.argv[2], 21).open(); b.secret_file("extra_vars_secret.json", "secret")
print(a.dir, b.dir, flush=True); time.sleep(300)
"""


def test_one_janitor_serves_every_run_of_a_process_and_only_its_runs(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    run = _python(MANY_RUNS, first, second)
    try:
        assert run.stdout.readline().strip() == "first"
        janitor = _janitors(run.pid)
        assert len(janitor) == 1  # started by the first run, alive after it ended
        _go_on(run)
        directories = [Path(text) for text in run.stdout.readline().split()]
        assert _janitors(run.pid) == janitor  # the same one, after 12 runs in two tmp_paths
        me = os.getpid()
        live = _record(first, "task_30_live", pid=me, start=supervisor.process_start(me))
        dead = _record(second, "task_31_dead")  # the next sweep's, not this janitor's
        run.kill()
        run.wait()
        gone = [*directories, first / "inventory_20"]
        _wait_until(lambda: not any(os.path.lexists(path) for path in gone))
        _wait_until(lambda: not any(supervisor.is_alive(*process) for process in janitor))
        for kept in (live, dead):
            assert (kept / "extra_vars_secret.json").exists()
            assert supervisor.record_of(kept).exists()
        assert sorted(p.name for p in [*first.iterdir(), *second.iterdir()]) == [
            ".task_30_live.run", ".task_31_dead.run", "task_30_live", "task_31_dead"
        ]  # fmt: skip
    finally:
        run.kill()
        run.wait()


KILLED_JANITOR = """
import sys, time
from semaphore.engine.workspace import Workspace
a = Workspace(sys.argv[1], 1).open(); a.secret_file("extra_vars_secret.json", "secret")
print(a.dir, flush=True); sys.stdin.readline()
b = Workspace(sys.argv[2], 2).open(); b.secret_file("extra_vars_secret.json", "secret")
print(b.dir, flush=True); time.sleep(300)
"""


def test_a_killed_janitor_is_replaced_at_the_next_run_and_covers_the_earlier_ones(
    tmp_path: Path,
) -> None:
    run = _python(KILLED_JANITOR, tmp_path / "first", tmp_path / "second")
    try:
        earlier = Path(run.stdout.readline().strip())
        [(janitor, start)] = _janitors(run.pid)
        os.kill(janitor, signal.SIGKILL)
        _wait_until(lambda: not supervisor.is_alive(janitor, start))
        _go_on(run)
        later = Path(run.stdout.readline().strip())
        [(replacement, _)] = _janitors(run.pid)
        assert replacement != janitor
        run.kill()
        run.wait()
        _wait_until(lambda: not os.path.lexists(earlier) and not os.path.lexists(later))
    finally:
        run.kill()
        run.wait()


FORKED = """
import os, sys, time
from semaphore.engine.workspace import Workspace
parent = Workspace(sys.argv[1], 1).open(); parent.secret_file("extra_vars_secret.json", "secret")
child = os.fork()
if child == 0:
    sys.stdin.readline()
    mine = Workspace(sys.argv[1], 2).open(); mine.secret_file("extra_vars_secret.json", "secret")
    print(mine.dir, flush=True); time.sleep(300); os._exit(0)
print(parent.dir, child, flush=True); time.sleep(300)
"""


def test_a_forked_child_has_a_janitor_of_its_own_and_holds_nothing_of_its_parents(
    tmp_path: Path,
) -> None:
    run = _python(FORKED, tmp_path)
    child = None
    try:
        text, pid = run.stdout.readline().split()
        parents, child = Path(text), int(pid)
        assert len(_janitors(run.pid)) == 1  # the parent's; the child has had no run yet
        # The parent dies while its child lives on: the child must not hold the parent's pipe.
        run.kill()
        run.wait()
        _wait_until(lambda: not os.path.lexists(parents))
        assert supervisor.is_alive(child, None)
        _go_on(run)
        childs = Path(run.stdout.readline().strip())
        assert (childs / "extra_vars_secret.json").exists() and len(_janitors(child)) == 1
        os.kill(child, signal.SIGKILL)
        _wait_until(lambda: not os.path.lexists(childs))
        assert list(tmp_path.iterdir()) == []
    finally:
        run.kill()
        run.wait()
        if child is not None and supervisor.is_alive(child, None):
            os.kill(child, signal.SIGKILL)


def test_sweep_removes_dead_runs_and_keeps_live_and_foreign_ones(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    socket_dir = Path(f"{supervisor.SOCKET_DIR_PREFIX}test-{os.getpid()}")
    socket_dir.mkdir(exist_ok=True)
    home_stub = tmp / "home_1" / "task_5_dead"
    home_stub.mkdir(parents=True)
    (tmp / "inventory_5").write_text("[all]\n")
    dead = _record(
        tmp,
        "task_5_dead",
        paths=[str(tmp / "inventory_5"), str(socket_dir), "/etc/passwd", f"{tmp}/../outside"],
        stubs=[str(home_stub)],
    )
    (tmp_path / "outside").write_text("not ours to remove")
    me = os.getpid()
    live = _record(tmp, "task_6_live", pid=me, start=supervisor.process_start(me), task_id=6)
    (tmp / "inventory_6").write_text("[all]\n")
    reused = _record(tmp, "task_7_reused", pid=me, start=1, task_id=7)  # pid reused since
    foreign = _record(tmp, "task_8_foreign", host="another-host", task_id=8)
    young = tmp / "task_10_young"
    young.mkdir()  # no record yet: a run being set up
    stale = tmp / "task_11_stale"  # no record, old: from before records, or a crash
    stale.mkdir()
    _old(stale)
    (tmp / "repository_1_1").mkdir()

    removed = sweep(tmp)

    assert sorted(p.name for p in removed) == ["task_11_stale", "task_5_dead", "task_7_reused"]
    for gone in (dead, reused, stale, tmp / "inventory_5", socket_dir, home_stub):
        assert not os.path.lexists(gone), gone
    assert not supervisor.record_of(dead).exists()
    for kept in (live, foreign, young, tmp / "inventory_6", tmp / "repository_1_1"):
        assert kept.exists(), kept
    assert Path("/etc/passwd").exists() and (tmp_path / "outside").exists()
    assert sweep(tmp) == []  # nothing more


def test_inventory_without_any_record_goes_once_old(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "inventory_3").write_text("x")
    assert sweep(tmp) == []
    _old(tmp / "inventory_3")
    assert [p.name for p in sweep(tmp)] == ["inventory_3"]
    assert sweep(tmp_path / "missing") == []


def test_a_run_sweeps_its_tmp_path_at_most_every_so_often(tmp_path: Path, monkeypatch) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    stale = tmp / "task_12_stale"
    stale.mkdir()
    _old(stale)
    assert [p.name for p in sweep_due(tmp)] == ["task_12_stale"]
    again = tmp / "task_13_stale"
    again.mkdir()
    _old(again)
    assert sweep_due(tmp) == []  # swept a moment ago: left for the next sweep
    assert again.exists()
    monkeypatch.setattr(workspace_module, "SWEEP_SECONDS", 0.0)
    assert [p.name for p in sweep_due(tmp)] == ["task_13_stale"]


def test_the_sandboxs_mount_points_are_recorded_in_one_write(tmp_path: Path, monkeypatch) -> None:
    run = Workspace(tmp_path / "tmp", 14).open()
    writes: list[Path] = []
    original = Workspace._write_record
    monkeypatch.setattr(Workspace, "_write_record", lambda w: writes.append(w) or original(w))
    try:
        home = tmp_path / "tmp" / "home_1"
        run.stub(home / "task_14_x", home / "repository_1_1", home / "task_14_x")
        assert len(writes) == 1
        assert supervisor.read_record(run.record)["stubs"] == [
            str(home / "task_14_x"),
            str(home / "repository_1_1"),
        ]
    finally:
        run.cleanup()


def test_a_janitor_of_the_version_before_still_removes_its_run(tmp_path: Path) -> None:
    # A worker upgraded under its feet: its per-run janitor starts this supervisor with the
    # record alone.
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    directory = _record(tmp, "task_15_old", paths=[])
    record = supervisor.record_of(directory)
    subprocess.run(  # noqa: S603
        [sys.executable, "-I", "-S", supervisor.__file__, "janitor", str(record)], check=True
    )
    assert not record.exists() and not directory.exists()
