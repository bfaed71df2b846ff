"""Storing a task's output: blocks of lines are buffered and written in batches, never one
commit (or one Python call) per line.

The engine calls `write` from its threads with the lines of one read (joined by "\n"); only
the job's own thread, which holds the app context and the database session, calls `flush`.
`wait` returns as soon as a full batch is buffered, the run has ended (`wake`), or
BATCH_SECONDS have passed: lines are stored within that bound while a run goes on, big
batches under heavy output, and the job never idles after the run. `flush` at the end writes
the rest: nothing is lost.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Task, utcnow
from semaphore.services.tasks import output as task_output

BATCH_LINES = task_output.CHUNK_LINES
BATCH_SECONDS = 0.05


class OutputWriter:
    """Numbered, timestamped output lines of one task, written in batches."""

    def __init__(self, task_id: int, project_id: int | None = None) -> None:
        self.task_id = task_id
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._blocks: list[tuple[datetime, str]] = []
        self._lines = 0
        self._last_flush = 0.0
        # The number the next batch starts at; lines are numbered from 1 per task, the ones
        # dropped past max_task_output_lines too (store_lines counts them from this alone).
        self._next_seq = task_output.next_seq(task_id)
        self._project_id = project_id or db.session.scalar(
            select(Task.project_id).where(Task.id == task_id)
        )

    def write(self, text: str, at: datetime | None = None) -> None:
        """Buffer one or more lines (already masked, joined by "\\n"); safe from any thread."""
        at = at or utcnow()
        lines = text.count("\n") + 1
        with self._lock:
            if not self._blocks and time.monotonic() - self._last_flush >= BATCH_SECONDS:
                # The first line after a quiet spell is stored at once: low latency for
                # sparse output, batches under heavy output.
                self._ready.set()
            self._blocks.append((at, text))
            self._lines += lines
            if self._lines >= BATCH_LINES:
                self._ready.set()

    def wake(self) -> None:
        """End the current wait now (the run is over: its last lines are stored at once)."""
        self._ready.set()

    def wait(self, timeout: float = BATCH_SECONDS) -> None:
        """Block until a batch is full, `wake` is called, or the timeout passes."""
        self._ready.wait(timeout)

    def flush(self) -> int:
        """Write the buffered lines and commit; returns how many."""
        with self._lock:
            blocks, self._blocks, self._lines = self._blocks, [], 0
            self._ready.clear()
            self._last_flush = time.monotonic()
        if not blocks:
            return 0
        stored = task_output.store_lines(self.task_id, self._next_seq, blocks, self._project_id)
        db.session.commit()
        self._next_seq += stored
        return stored
