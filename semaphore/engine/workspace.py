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
* one janitor per process (a shell, then engine.supervisor), started by the process's first
  run, waits for the process's death, however it dies: the end of a pipe only that process
  holds (not inherited by what runs start, closed in a forked child). Each tmp_path the
  process uses is a line on that pipe; at its end, Python starts and removes what every
  record of that process (pid, start time, host) under those tmp_paths still lists: a killed
  run's secrets are gone within tens of milliseconds. A clean exit ends the pipe too, and the
  janitor finds nothing left but what a run never cleaned up; a forked child, or a process
  whose janitor was killed, starts a new one at its next run;
* `sweep`, at `semaphore worker` start and before a run (at most every SWEEP_SECONDS), removes
  what a run whose owner is dead left behind (the janitor killed too, the machine reset):
  records of this host whose process is gone, and task directories and inventories with no
  record, once a minute old.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from semaphore.engine import supervisor

# A unix socket path must fit in sockaddr_un.sun_path (108 bytes with its NUL); agent sockets
# and ssh ControlPath sockets (dir + 41 characters) are kept well below it.
MAX_SOCKET_DIR = 60
# A task directory or inventory without a record is left alone this long (being created).
UNRECORDED_GRACE_SECONDS = 60.0
# A run sweeps its tmp_path first unless this process did less than this long ago.
SWEEP_SECONDS = 30.0
_last_sweep: dict[str, float] = {}


class Workspace:
    """The temporary files of one task run. Use as a context manager: exit removes them."""

    def __init__(self, tmp_path: str | Path, task_id: int) -> None:
        self.tmp_path = Path(tmp_path)
        self.task_id = task_id
        self._dir: Path | None = None
        self._socket_dir: Path | None = None
        self._owned: list[Path] = []
        self._stubs: list[Path] = []

    def __enter__(self) -> Workspace:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def open(self) -> Workspace:
        """Create tmp_path (0700), this task's private directory and its record.

        Raises:
            OSError: tmp_path cannot be created, or holds a newline (the janitor could not
                be told about it).
        """
        self.tmp_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The janitor knows tmp_path before a record lies there: a death from then on is covered.
        _watch(self.tmp_path)
        # mkdtemp creates the directory 0700, so nothing in it is readable by other users.
        self._dir = Path(tempfile.mkdtemp(prefix=f"task_{self.task_id}_", dir=self.tmp_path))
        self._write_record()
        return self

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

    def stub(self, *paths: Path) -> Path | None:
        """Remove these paths when the run ends if they are empty directories or files (mount
        points the sandbox created); one record write for them all. Returns the last."""
        new = [path for path in dict.fromkeys(paths) if path not in self._stubs]
        if new:
            self._stubs += new
            self._write_record()
        return paths[-1] if paths else None

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


def sweep_due(tmp_path: str | Path) -> list[Path]:
    """`sweep`, unless this process swept tmp_path less than SWEEP_SECONDS ago: a dead run's
    janitor removed its files already, and what a janitor killed too left waits a little."""
    swept = _last_sweep.get(str(tmp_path))
    if swept is not None and time.monotonic() - swept < SWEEP_SECONDS:
        return []
    return sweep(tmp_path)


def sweep(tmp_path: str | Path) -> list[Path]:
    """Remove what runs on this host left behind when their owner died; returns what went.

    A run whose record names a live process (same pid and start time) is never touched, nor
    is another host's (tmp_path may be shared). Never raises.
    """
    root = Path(tmp_path)
    _last_sweep[str(tmp_path)] = time.monotonic()
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    host = socket.gethostname()
    removed: list[Path] = []
    live_tasks: set[str] = set()
    recorded: set[str] = set()
    records = [
        e
        for e in entries
        if e.name.startswith(supervisor.RECORD_PREFIX) and e.name.endswith(supervisor.RECORD_SUFFIX)
    ]
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


class _Janitor:
    """This process's janitor: a shell reading a pipe whose writing end only this process
    holds (O_CLOEXEC: nothing a run starts inherits it; a forked child closes it). Each line
    is a tmp_path, which the shell collects; at the pipe's end (this process died, however it
    died, or exited) it starts the supervisor's janitor on them. In a session of its own, so
    that a kill of the whole process group spares it. A shell costs a millisecond where Python
    costs ten, and Python starts once, when this process ends."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        start = supervisor.process_start(self.owner)
        clean = [sys.executable or "/usr/bin/python3", "-I", "-S", supervisor.__file__]
        clean += ["janitor", str(self.owner), "" if start is None else str(start)]
        clean += [socket.gethostname()]
        script = (
            f'while IFS= read -r path; do set -- "$@" "$path"; done; exec {shlex.join(clean)} "$@"'
        )
        self.paths: list[str] = []
        reading, self.pipe = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603
                ["/bin/sh", "-c", script],
                stdin=reading,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except BaseException:
            os.close(self.pipe)
            raise
        finally:
            os.close(reading)

    def serves_this_process(self) -> bool:
        return self.owner == os.getpid() and self.process.poll() is None

    def watch(self, tmp_path: str) -> None:
        """Tell the janitor about tmp_path (once).

        Raises:
            OSError: the janitor is gone (a broken pipe).
        """
        if tmp_path not in self.paths:
            # A line shorter than PIPE_BUF: it arrives whole, or not at all if this process dies.
            os.write(self.pipe, tmp_path.encode() + b"\n")
            self.paths.append(tmp_path)

    def close(self) -> None:
        """Let go of a janitor that is dead, or is a forked child's copy of its parent's."""
        try:
            os.close(self.pipe)
        except OSError:
            pass
        if self.owner != os.getpid():
            self.process.returncode = 0  # not our child: nothing to collect, no Popen warning
            return
        try:
            self.process.wait(timeout=5)  # its end of the pipe is closed: it is exiting
        except subprocess.TimeoutExpired:
            pass


_janitor: _Janitor | None = None
_janitor_lock = threading.Lock()


def _watch(tmp_path: Path) -> None:
    """Have this process's janitor cover the run records under tmp_path, starting the janitor
    first if this process has none yet (its first run, a forked child) or it has died."""
    global _janitor
    path = os.path.abspath(tmp_path)
    if "\n" in path:
        raise OSError(errno.EINVAL, "the janitor cannot take a tmp_path with a newline", path)
    with _janitor_lock:
        janitor = _janitor
        if janitor is not None and janitor.serves_this_process():
            try:
                janitor.watch(path)
                return
            except OSError:
                pass  # killed since: a new one takes over every tmp_path this one had
        paths: list[str] = []
        if janitor is not None:
            paths = janitor.paths if janitor.owner == os.getpid() else []
            janitor.close()
        _janitor = _Janitor()
        for known in [*paths, path]:
            _janitor.watch(known)


def _forget_janitor_in_child() -> None:
    """A forked child must not hold its parent's pipe (the parent's janitor would wait for the
    child's death too); it starts a janitor of its own at its first run."""
    global _janitor, _janitor_lock
    _janitor_lock = threading.Lock()  # another thread may have held it at the fork
    if _janitor is not None:
        _janitor.close()
        _janitor = None


os.register_at_fork(after_in_child=_forget_janitor_in_child)
