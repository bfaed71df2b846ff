"""Storing a task's output: lines are buffered and written in batches, never one commit each.

The engine calls `write` from its threads; only the job's own thread, which holds the app
context and the database session, calls `flush`. `wait` returns as soon as a full batch is
buffered or BATCH_SECONDS have passed, so the job's loop writes big batches under heavy output
and keeps latency low otherwise. `flush` at the end writes the rest: nothing is lost.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Task, utcnow
from semaphore.services.tasks import output as task_output

BATCH_LINES = 5000
BATCH_SECONDS = 0.2


class OutputWriter:
    """Numbered, timestamped output lines of one task, written in batches."""

    def __init__(self, task_id: int) -> None:
        self.task_id = task_id
        self._lock = threading.Lock()
        self._full = threading.Event()
        self._buffer: list[tuple[datetime, str]] = []
        self._last_flush = 0.0
        # The number the next batch starts at; lines are numbered from 1 per task.
        self._next_seq = task_output.last_seq(task_id) + 1
        self._project_id = db.session.scalar(select(Task.project_id).where(Task.id == task_id))

    def write(self, line: str, at: datetime | None = None) -> None:
        """Buffer one line (already masked); safe from any thread."""
        at = at or utcnow()
        with self._lock:
            if not self._buffer and time.monotonic() - self._last_flush >= BATCH_SECONDS:
                # The first line after a quiet spell is stored at once: low latency for
                # sparse output, batches under heavy output.
                self._full.set()
            if "\n" in line:
                self._buffer.extend((at, part) for part in line.split("\n"))
            else:
                self._buffer.append((at, line))
            if len(self._buffer) >= BATCH_LINES:
                self._full.set()

    def wait(self, timeout: float = BATCH_SECONDS) -> None:
        """Block until a batch is full or the timeout passes."""
        self._full.wait(timeout)

    def flush(self) -> int:
        """Write the buffered lines in one statement and commit; returns how many."""
        with self._lock:
            lines, self._buffer = self._buffer, []
            self._full.clear()
            self._last_flush = time.monotonic()
        if lines:
            task_output.store_lines(self.task_id, self._next_seq, lines, self._project_id)
            db.session.commit()
            self._next_seq += len(lines)
        return len(lines)
