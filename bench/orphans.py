"""Counting the CPU of the processes bubblewrap leaves behind.

bubblewrap's outer process exits with its command's status as soon as the init it started in
the pid namespace reports it, without waiting for that init: the init, which has reaped the
command (its CPU with it), is then reparented to the nearest child subreaper, or to pid 1. A
benchmark that sums its processes' own and reaped children's CPU misses all of it: the command's
and git's CPU of every sandboxed run. `OrphanReaper` makes this process that subreaper and reaps
those inits, so their CPU lands in this process's children's time (`os.times()`,
`RUSAGE_CHILDREN`). It reaps only pid-namespace inits (pid 1 in their namespace), which nothing
here starts itself, so it never takes the exit status a `subprocess.Popen` waits for.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
POLL_SECONDS = 0.01


def _children() -> list[int]:
    pids: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def _is_namespace_init(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            levels = line.split()[1:]
            return len(levels) > 1 and levels[-1] == "1"
    return False


class OrphanReaper:
    """A thread reaping the pid-namespace inits reparented to this process."""

    def __init__(self) -> None:
        self.reaped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="orphan-reaper", daemon=True)

    def __enter__(self) -> OrphanReaper:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.reap()

    def reap(self) -> None:
        """Reap every namespace init that has ended."""
        for pid in _children():
            if _is_namespace_init(pid):
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    continue
                self.reaped += done == pid

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.reap()
