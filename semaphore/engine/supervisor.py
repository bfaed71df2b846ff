"""Keeping a task's processes and files from outliving its run: the supervisor and the janitor.

This file is also a script, run by the engine with the server's Python (`-I -S`, standard
library only); the engine imports only its helpers. Every command of a task waits for it to
start, so `run` imports only what it uses (json, pathlib and shutil, which the janitor and the
engine's helpers need, cost twice Python's own start): about 10 ms.

    supervisor.py run <parent pid> -- <argv...>
        Runs the command as a child subreaper (PR_SET_CHILD_SUBREAPER): everything it starts
        stays below the supervisor, even a process that double-forks or calls setsid.
        * The command exits: whatever it left running is killed, and the supervisor exits
          with the command's status (re-raising its signal), so callers see what they would
          see without it.
        * SIGTERM (a stop): passed on to every process below, whatever its process group.
        * SIGHUP: everything below is killed at once (SIGKILL). The engine sends it when a
          stop's grace period is over, and the kernel sends it when the thread that started
          the supervisor dies (PR_SET_PDEATHSIG): a SIGKILLed worker takes the command's
          whole tree with it.
        The engine runs git and ssh-agent this way, and every command when the sandbox is
        off (bubblewrap's own pid namespace does the same job for sandboxed commands).

    supervisor.py janitor <pid> <start time> <host> <tmp_path...>
        Removes what every run record of that process (engine.workspace writes them) under
        those tmp_paths still lists, and the records. The process's janitor, a shell waiting
        on a pipe that only that process holds, starts it when the pipe ends: the process is
        dead (it may still be a zombie: no liveness check) or exited cleanly, when its runs
        left no records (see engine.workspace). Python starts only then, once per process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

TYPE_CHECKING = False  # typing itself costs this script's start 5 ms
if TYPE_CHECKING:
    from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# SIGHUP from the engine or the kernel: kill the whole tree now.
KILL_TREE = signal.SIGHUP
# Where a workspace's sockets go when tmp_path is too long for a socket path.
SOCKET_DIR_PREFIX = "/tmp/sem-"
RECORD_PREFIX = ".task_"
RECORD_SUFFIX = ".run"


# --- helpers the engine imports too ----------------------------------------------------------


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (None: no such process).

    A pid with its start time names one process even after the pid is reused.
    """
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def is_alive(pid: int, start: int | None) -> bool:
    """Whether the process that had this pid and start time still runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    if stat[0] in ("Z", "X"):
        return False
    return start is None or int(stat[19]) == start


def parents() -> dict[int, int]:
    """pid -> parent pid of every process (a snapshot of /proc)."""
    table: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        table[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return table


def descendants(pid: int) -> list[int]:
    """Every process below pid, whatever its process group or session."""
    children: dict[int, list[int]] = {}
    for child, parent in parents().items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def remove_path(path: Path) -> None:
    """Remove a file or a directory tree, never following a symlink. Never raises."""
    import shutil

    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def remove_if_empty(path: Path) -> None:
    """Remove an empty directory or an empty regular file (a sandbox mount point)."""
    try:
        if path.is_symlink():
            return
        if path.is_dir():
            path.rmdir()
        elif path.is_file() and path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass


def record_of(workspace: Path) -> Path:
    """The run record of a task directory: `.task_<id>_<random>.run` beside it."""
    return workspace.with_name(f".{workspace.name}{RECORD_SUFFIX}")


def workspace_of(record: Path) -> Path:
    return record.with_name(record.name.removeprefix(".").removesuffix(RECORD_SUFFIX))


def read_record(record: Path) -> dict | None:
    import json

    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_recorded(record: Path) -> None:
    """Remove a run's files as its record lists them, then the record.

    Only paths under the record's directory (tmp_path) or socket directories in /tmp are
    touched, whatever the record says.
    """
    from pathlib import Path

    root = record.parent.resolve()
    data = read_record(record) or {}

    def allowed(text: object) -> Path | None:
        if not isinstance(text, str) or not os.path.isabs(text):
            return None
        path = Path(os.path.normpath(text))
        if path.is_relative_to(root) and path != root:
            return path
        if str(path).startswith(SOCKET_DIR_PREFIX) and path.parent == Path("/tmp"):
            return path
        return None

    workspace = workspace_of(record)
    for text in [*(data.get("paths") or []), str(workspace)]:
        path = allowed(text)
        if path is not None:
            remove_path(path)
    for text in data.get("stubs") or []:
        path = allowed(text)
        if path is not None:
            remove_if_empty(path)
    try:
        record.unlink(missing_ok=True)
    except OSError:
        pass


def remove_records_of(pid: int, start: int | None, host: str, tmp_paths: list[str]) -> None:
    """Remove what every run record of one process (pid, start time, host) under these
    tmp_paths lists: the janitor's work once that process is gone. Never raises."""
    from pathlib import Path

    for tmp_path in tmp_paths:
        try:
            names = os.listdir(tmp_path)
        except OSError:
            continue
        for name in names:
            if not (name.startswith(RECORD_PREFIX) and name.endswith(RECORD_SUFFIX)):
                continue
            record = Path(tmp_path, name)
            data = read_record(record) or {}
            if (data.get("pid"), data.get("start"), data.get("host")) == (pid, start, host):
                remove_recorded(record)


# --- the script ----------------------------------------------------------------------------


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


# The command's pid and, once it has exited, its wait status.
_command: dict[str, int | None] = {"pid": None, "status": None}


def _reap(block: bool = False) -> bool:
    """Collect exited children (orphans reparented to us included), noting the command's
    status; False once no child is left."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True
        if pid == _command["pid"]:
            _command["status"] = status
        if block:
            return True


def _kill_tree() -> None:
    """SIGKILL everything below us until nothing is left (new forks included)."""
    me = os.getpid()
    for _ in range(200):
        below = descendants(me)
        if not below:
            return
        signal_all(below, signal.SIGKILL)
        _reap()
        time.sleep(0.005)


def _exit_like(status: int) -> None:
    """Exit as the command did: same code, or killed by the same signal."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number != signal.SIGKILL:
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [number])
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def run(parent: int, argv: list[str]) -> None:
    signal.signal(signal.SIGTERM, lambda *_: signal_all(descendants(os.getpid()), signal.SIGTERM))
    signal.signal(signal.SIGINT, lambda *_: signal_all(descendants(os.getpid()), signal.SIGINT))
    signal.signal(KILL_TREE, lambda *_: _kill_tree())
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, KILL_TREE)
    if os.getppid() != parent:
        os._exit(128 + KILL_TREE)  # the parent died before the signal was armed
    handled = [signal.SIGTERM, signal.SIGINT, KILL_TREE]
    # No handler may run between the fork and noting the command's pid.
    signal.pthread_sigmask(signal.SIG_BLOCK, handled)
    child = os.fork()
    if child == 0:
        try:
            # Python ignores SIGPIPE and SIGXFSZ; the command gets the defaults.
            for number in [*handled, signal.SIGPIPE, signal.SIGXFSZ]:
                signal.signal(number, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, handled)
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # should the supervisor itself be killed
            os.execvpe(argv[0], argv, os.environ)
        except OSError as exc:
            os.write(2, f"{argv[0]}: {exc.strerror}\n".encode())
        os._exit(127)
    _command["pid"] = child
    signal.pthread_sigmask(signal.SIG_UNBLOCK, handled)
    while _command["status"] is None and _reap(block=True):
        pass
    _kill_tree()
    status = _command["status"]
    _exit_like(1 << 8 if status is None else status)


def main(args: list[str]) -> None:
    if len(args) >= 4 and args[0] == "run" and args[2] == "--":
        run(int(args[1]), args[3:])
    elif len(args) >= 4 and args[0] == "janitor":
        start = int(args[2]) if args[2] else None
        remove_records_of(int(args[1]), start, args[3], args[4:])
    elif len(args) == 2 and args[0] == "janitor":
        # A per-run janitor of a worker started before an upgrade to this version.
        from pathlib import Path

        remove_recorded(Path(args[1]))
    else:
        sys.exit(
            "usage: supervisor.py run <parent pid> -- <argv...>"
            " | janitor <pid> <start time> <host> <tmp_path...>"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
