"""Storing a task's output: lines are buffered and written in batches, never one commit each.

The engine calls `write` from its reader thread; `flush` writes what is buffered in one
multi-row INSERT. A batch is written when it reaches BATCH_LINES or is older than
BATCH_SECONDS, and `close` writes the rest, so nothing is lost at the end of a run.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import func, insert, select

from semaphore.extensions import db
from semaphore.models import TaskOutput, utcnow

BATCH_LINES = 2000
BATCH_SECONDS = 0.2


class OutputWriter:
    """Numbered, timestamped output lines of one task, written in batches."""

    def __init__(self, task_id: int) -> None:
        self.task_id = task_id
        self._lock = threading.Lock()
        self._buffer: list[dict] = []
        self._oldest = 0.0
        last = db.session.scalar(
            select(func.max(TaskOutput.seq)).where(TaskOutput.task_id == task_id)
        )
        self._seq = last or 0

    def write(self, line: str, at: datetime | None = None) -> None:
        """Buffer one line (the caller has masked secrets already)."""
        with self._lock:
            self._seq += 1
            if not self._buffer:
                self._oldest = time.monotonic()
            self._buffer.append(
                {"task_id": self.task_id, "seq": self._seq, "time": at or utcnow(), "output": line}
            )
            due = (
                len(self._buffer) >= BATCH_LINES or time.monotonic() - self._oldest >= BATCH_SECONDS
            )
        if due:
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines in one statement and commit."""
        with self._lock:
            rows, self._buffer = self._buffer, []
        if rows:
            db.session.execute(insert(TaskOutput), rows)
            db.session.commit()

    def close(self) -> None:
        self.flush()
