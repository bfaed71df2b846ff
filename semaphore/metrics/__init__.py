"""Prometheus metrics (GET /metrics): where the processes of one machine keep their counts.

Counters and histograms are counted where things happen, in whichever process: the gunicorn
workers (HTTP requests, logins, runner reports), a `semaphore worker`'s work-horses (task runs,
output, notifications) and the scheduler. prometheus_client's multiprocess mode lets each
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


def use_directory(tmp_path: str, *, forking_worker: bool = False) -> str:
    """Count into this machine's directory under tmp_path (created); returns it.

    Called first thing by `semaphore server`, `worker` and `scheduler`, before prometheus_client
    is imported. With `forking_worker` (an RQ worker, which forks a work-horse per job) every
    work-horse of this process writes one shared set of files, named after the worker with an
    `h`, instead of a new set per job: horses run one at a time, and the directory would
    otherwise grow by a few files with every task.
    """
    global _directory
    path = directory_for(tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    _directory = str(path)
    os.environ[ENVIRONMENT_VARIABLE] = _directory
    if forking_worker:
        from prometheus_client import values

        main_pid = os.getpid()

        def identifier() -> str:
            pid = os.getpid()
            return str(pid) if pid == main_pid else f"{main_pid}h"

        values.ValueClass = values.MultiProcessValue(process_identifier=identifier)
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
