"""A run's files: its record, the janitor that removes them when the run's process dies, and the
sweep that removes what a dead run on this host left (worker start, every run's start)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from semaphore.engine import supervisor
from semaphore.engine.workspace import UNRECORDED_GRACE_SECONDS, Workspace, sweep

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
