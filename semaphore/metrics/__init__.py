"""Prometheus metrics (GET /metrics): where the processes of one machine keep their counts.

Counters and histograms are counted where things happen, in whichever process: the gunicorn
workers (HTTP requests, logins, runner reports), a `semaphore worker` (task runs, output,
notifications) and the scheduler. prometheus_client's multiprocess mode lets each
process write its values to files of its own in one directory, which the web sums when
scraped. Each `semaphore` process calls `use_directory` before anything imports
prometheus_client: the library picks its storage at import. Gauges read from the database or
Redis (tasks by status, queue depth, workers, runners, the scheduler's last tick) are computed
at scrape time instead (metrics/collector.py).

The directory is `<tmp_path>/.metrics-<host name>`: per machine, even when tmp_path is shared,
so the web of one machine sums the counts of that machine's processes only.

Only the standard library is imported here: the definitions (metrics/definitions.py) are
loaded by the modules that count, once the directory is chosen.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

# prometheus_client reads the directory from this variable, in every process that counts.
ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

_directory: str | None = None


def directory_for(tmp_path: str) -> Path:
    """The metrics directory of this machine under tmp_path."""
    return Path(tmp_path) / f".metrics-{socket.gethostname()}"


def use_directory(tmp_path: str) -> str:
    """Count into this machine's directory under tmp_path (created); returns it.

    Called first thing by `semaphore server`, `worker` and `scheduler`, before prometheus_client
    is imported.
    """
    global _directory
    path = directory_for(tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    _directory = str(path)
    os.environ[ENVIRONMENT_VARIABLE] = _directory
    return _directory


def directory() -> str | None:
    """The directory this process counts into, or None (one process alone: tests, the CLI)."""
    return _directory


def remove_stale_files(path: str) -> list[str]:
    """Delete the files of processes that are no longer running; returns their names.

    `semaphore server` calls it at start: counts of processes gone before this start are
    forgotten (Prometheus takes the drop as a counter reset). Files of live processes, a
    worker's or the scheduler's started before the server, are kept.
    """
    removed = []
    for file in Path(path).glob("*.db"):
        # A trailing "h": the shared files of an earlier version's forked work-horses.
        pid = file.stem.rsplit("_", 1)[-1].removesuffix("h")
        if pid.isdigit() and not _alive(int(pid)):
            file.unlink(missing_ok=True)
            removed.append(file.name)
    return removed


def mark_process_dead(pid: int) -> None:
    """Forget a dead web process's live gauges (gunicorn's child_exit calls this)."""
    if _directory is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, _directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
