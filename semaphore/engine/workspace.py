"""A task's files on disk: the task directory, 0600 secret files, and their removal.

Layout under tmp_path (0700), as the original's:
  repository_<repoID>_<templateID>/   the template's checkout, kept between runs
  inventory_<taskID>[.yml]            a static inventory, or the clone of an inventory repository
  task_<taskID>_<random>/             ours: secret files (extra vars, vault passwords), askpass
                                      helper, ssh-agent sockets; removed with everything above
                                      that belongs to the task when the run ends, in every outcome.
  .task_<taskID>_<random>.run         ours: the run record (below)
  home_<projectID>/                   ours: the project's HOME inside the sandbox (kept)

Removal in every outcome, a SIGKILLed worker included:
* the run removes its files itself when it ends (`cleanup`, in a `finally`);
* the run record names the process that owns the run (pid and start time, host) and every
  path the run created outside its directory. It lies beside the directory, not in it, so the
  sandboxed tool, which sees its directory, cannot rewrite it;
* a janitor process (a shell, then engine.supervisor) waits for the worker's death (the
  end of a pipe only the run's process holds) and then removes what the record lists: a
  killed run's secrets are gone within milliseconds;
* `sweep`, at `semaphore worker` start and before each run, removes what a run whose owner is
  dead left behind (the janitor killed too, the machine reset): records of this host whose
  process is gone, and task directories and inventories with no record, once a minute old.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from semaphore.engine import supervisor

# A unix socket path must fit in sockaddr_un.sun_path (108 bytes with its NUL); agent sockets
# and ssh ControlPath sockets (dir + 41 characters) are kept well below it.
MAX_SOCKET_DIR = 60
# What a run tells its janitor when it has removed its files itself.
JANITOR_DONE = "done"
# A task directory or inventory without a record is left alone this long (being created).
UNRECORDED_GRACE_SECONDS = 60.0


class Workspace:
    """The temporary files of one task run. Use as a context manager: exit removes them."""

    def __init__(self, tmp_path: str | Path, task_id: int) -> None:
        self.tmp_path = Path(tmp_path)
        self.task_id = task_id
        self._dir: Path | None = None
        self._socket_dir: Path | None = None
        self._owned: list[Path] = []
        self._stubs: list[Path] = []
        self._janitor: subprocess.Popen[bytes] | None = None
        self._janitor_pipe: int | None = None

    def __enter__(self) -> Workspace:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def open(self) -> Workspace:
        """Create tmp_path (0700), this task's private directory, its record and janitor."""
        self.tmp_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdtemp creates the directory 0700, so nothing in it is readable by other users.
        self._dir = Path(tempfile.mkdtemp(prefix=f"task_{self.task_id}_", dir=self.tmp_path))
        self._write_record()
        self._start_janitor()
        return self

    def _start_janitor(self) -> None:
        """A shell reading a pipe whose writing end only this process holds (not inherited by
        anything it starts): "done" from `cleanup`, or the end of the pipe when this process
        dies however it dies, and then the supervisor's janitor removes what the record lists.
        In a session of its own, so that a kill of the whole process group spares it. A shell
        costs a millisecond where Python costs ten, and Python starts only after a death."""
        clean = [sys.executable or "/usr/bin/python3", "-I", "-S", supervisor.__file__]
        clean += ["janitor", str(self.record)]
        script = f'read -r line; [ "$line" = {JANITOR_DONE} ] || exec {shlex.join(clean)}'
        reading, self._janitor_pipe = os.pipe()
        try:
            self._janitor = subprocess.Popen(  # noqa: S603
                ["/bin/sh", "-c", script],
                stdin=reading,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(reading)

    @property
    def dir(self) -> Path:
        if self._dir is None:
            raise RuntimeError("the workspace is not open")
        return self._dir

    @property
    def record(self) -> Path:
        """The run record, beside the task directory."""
        return supervisor.record_of(self.dir)

    @property
    def owned(self) -> list[Path]:
        """Paths outside the task directory that the run removes when it ends."""
        return list(self._owned)

    def checkout_dir(self, repository_id: int, template_id: int) -> Path:
        """Where a template's repository is cloned; it outlives the run (fetched next time)."""
        return self.tmp_path / f"repository_{repository_id}_{template_id}"

    def home_dir(self, project_id: int) -> Path:
        """The project's HOME in the sandbox (created 0700); it outlives the run."""
        path = self.tmp_path / f"home_{project_id}"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def inventory_path(self, suffix: str = "") -> Path:
        """<tmp_path>/inventory_<taskID><suffix>, removed when the run ends."""
        return self.own(self.tmp_path / f"inventory_{self.task_id}{suffix}")

    def own(self, path: Path) -> Path:
        """Remove this path (file or directory) when the run ends."""
        self._owned.append(path)
        self._write_record()
        return path

    def stub(self, path: Path) -> Path:
        """Remove this path when the run ends if it is an empty directory or file (a mount
        point the sandbox created)."""
        if path not in self._stubs:
            self._stubs.append(path)
            self._write_record()
        return path

    def secret_file(self, name: str, content: str | bytes, mode: int = 0o600) -> Path:
        """Write a file only the server's user can read, created that way (no chmod race)."""
        path = self.dir / name
        data = content.encode() if isinstance(content, str) else content
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return path

    def socket_dir(self) -> Path:
        """A short private directory for unix sockets (ssh-agent, ssh ControlPath)."""
        if self._socket_dir is None:
            if len(str(self.dir)) <= MAX_SOCKET_DIR:
                self._socket_dir = self.dir
            else:
                prefix = Path(supervisor.SOCKET_DIR_PREFIX)
                directory = tempfile.mkdtemp(prefix=prefix.name, dir=prefix.parent)
                self._socket_dir = self.own(Path(directory))
        return self._socket_dir

    def cleanup(self) -> None:
        """Remove every file of the run. Never raises: it runs in `finally` blocks."""
        for path in [*self._owned, *([self._dir] if self._dir else [])]:
            supervisor.remove_path(path)
        for path in self._stubs:
            supervisor.remove_if_empty(path)
        if self._dir is not None:
            try:
                self.record.unlink(missing_ok=True)
            except OSError:
                pass
        if self._janitor_pipe is not None:
            try:
                os.write(self._janitor_pipe, JANITOR_DONE.encode() + b"\n")
            except OSError:
                pass  # the janitor is gone already
            os.close(self._janitor_pipe)
            self._janitor_pipe = None
        if self._janitor is not None:
            try:
                self._janitor.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._janitor.kill()
                self._janitor.wait()
            self._janitor = None
        self._owned.clear()
        self._stubs.clear()
        self._dir = None
        self._socket_dir = None

    def _write_record(self) -> None:
        start = supervisor.process_start(os.getpid())
        record = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "start": start,
            "task_id": self.task_id,
            "paths": [str(p) for p in self._owned],
            "stubs": [str(p) for p in self._stubs],
        }
        partial = self.record.with_name(self.record.name + ".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
        os.replace(partial, self.record)


def sweep(tmp_path: str | Path) -> list[Path]:
    """Remove what runs on this host left behind when their owner died; returns what went.

    A run whose record names a live process (same pid and start time) is never touched, nor
    is another host's (tmp_path may be shared). Never raises.
    """
    root = Path(tmp_path)
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    host = socket.gethostname()
    removed: list[Path] = []
    live_tasks: set[str] = set()
    recorded: set[str] = set()
    records = [e for e in entries if e.name.startswith(".task_") and e.name.endswith(".run")]
    for record in records:
        data = supervisor.read_record(record) or {}
        recorded.add(supervisor.workspace_of(record).name)
        pid, start = data.get("pid"), data.get("start")
        if data.get("host") not in (None, host) or (
            isinstance(pid, int) and supervisor.is_alive(pid, start)
        ):
            live_tasks.add(str(data.get("task_id")))
            continue
        supervisor.remove_recorded(record)
        removed.append(supervisor.workspace_of(record))
    cutoff = time.time() - UNRECORDED_GRACE_SECONDS
    for entry in entries:
        name = entry.name
        if entry in records or name in recorded:
            continue
        task = _task_of(name)
        if task is None or task in live_tasks:
            continue
        try:
            if entry.lstat().st_mtime > cutoff:
                continue
        except OSError:
            continue
        supervisor.remove_path(entry)
        removed.append(entry)
    return removed


def _task_of(name: str) -> str | None:
    """The task id in the name of a task directory, inventory or partial record, else None."""
    name = name.removeprefix(".")
    if name.startswith("task_"):
        return name.split("_")[1]
    if name.startswith("inventory_"):
        return name.removeprefix("inventory_").split(".")[0]
    return None
