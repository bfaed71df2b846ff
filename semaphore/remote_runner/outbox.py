"""One job's unsent output lines, status changes and commit, in the order they happened.

The engine's threads add to it; the loop takes a batch from the front, sends it, and drops it
only once the server has answered 2xx (`sent`). So an unreachable server loses nothing, and a
batch is never sent again once accepted. A status ends its batch: the server stores a
report's lines before applying its status, so the lines before a status arrive before it,
and each status change (running, waiting_confirmation, running, success) gets a report of
its own, in order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# What a record costs in the report beyond its text: its keys, its time and the JSON quoting.
RECORD_OVERHEAD = 64


@dataclass
class Batch:
    """The front of an outbox as one job of a report."""

    job_id: int
    items: int  # how many of the outbox's items it holds
    records: list[dict[str, str]] = field(default_factory=list)
    status: str = ""
    commit: tuple[str, str] | None = None
    size: int = 0

    def entry(self) -> dict[str, Any]:
        """The job's entry in a PUT /api/internal/runners body, with the original's keys
        (its Go field names: the server matches them in any letter case, not `log_records`)."""
        entry: dict[str, Any] = {
            "ID": self.job_id,
            "Status": self.status,
            "LogRecords": self.records,
        }
        if self.commit is not None:
            entry["Commit"] = {"hash": self.commit[0], "message": self.commit[1]}
        return entry


class Outbox:
    """A job's report, waiting to be sent. `line`, `status` and `commit` from any thread."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self._lock = threading.Lock()
        # A record is a dict; a status change is a str.
        self._items: list[dict[str, str] | str] = []
        self._commit: tuple[str, str] | None = None
        self.delivered: list[str] = []  # the statuses the server has accepted, in order

    def line(self, text: str, at: datetime) -> None:
        """Lines the engine read at `at` (several joined by "\\n": the server splits them)."""
        record = {"time": at.astimezone(UTC).isoformat(), "message": text}
        with self._lock:
            self._items.append(record)

    def status(self, status: str) -> None:
        with self._lock:
            self._items.append(status)

    def commit(self, commit_hash: str, message: str) -> None:
        with self._lock:
            self._commit = (commit_hash, message)

    @property
    def empty(self) -> bool:
        with self._lock:
            return not self._items and self._commit is None

    def batch(self, budget: int) -> Batch | None:
        """The front of the outbox, up to and including its first status, within `budget`
        bytes of text (one record at least, however long); None when it is empty."""
        with self._lock:
            batch = Batch(self.job_id, 0, commit=self._commit)
            for item in self._items:
                if isinstance(item, str):
                    batch.status = item
                    batch.items += 1
                    break
                cost = len(item["message"]) + RECORD_OVERHEAD
                if batch.records and batch.size + cost > budget:
                    break
                batch.records.append(item)
                batch.size += cost
                batch.items += 1
        if not batch.items and batch.commit is None:
            return None
        return batch

    def sent(self, batch: Batch, accepted: bool = True) -> None:
        """The server answered 2xx to `batch` (or refused it for good): drop it."""
        with self._lock:
            del self._items[: batch.items]
            if self._commit == batch.commit:
                self._commit = None
        if batch.status and accepted:
            self.delivered.append(batch.status)
