"""What goes over the live channel: output batches and task status changes.

One Redis message carries a whole batch of lines. A web process decodes it once and shares the
result with all its clients, encoding each WebSocket form at most once per message.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from semaphore.live.ansi import line_html
from semaphore.models import isoformat
from semaphore.models.task import line_offsets
from semaphore.queue.messages import CHANNEL, update_fields  # noqa: F401 - read by hub and stream


@dataclass
class LiveEvent:
    """A decoded message: kind "lines" (a batch of output) or "update" (a task's status).

    A batch travels as its stored chunk does (the lines joined, their times as microsecond
    offsets), so announcing it costs the worker almost nothing; `lines` is unpacked on demand.
    """

    kind: str
    project_id: int
    task_id: int
    first_seq: int = 0
    line_count: int = 0
    started: str = ""
    times: str = ""
    output: str = ""
    update: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # Re-entrant: one form is built from another (the message from the rendered lines).
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def last_seq(self) -> int:
        return self.first_seq + self.line_count - 1

    @property
    def lines(self) -> list[tuple[str | None, str]]:
        """The batch's (time, text) pairs, in seq order."""
        return self.cached("lines", self._unpack)

    def _unpack(self) -> list[tuple[str | None, str]]:
        texts = self.output.split("\n")
        started = datetime.fromisoformat(self.started)
        offsets = line_offsets(self.times, len(texts))
        stamps: dict[int, str | None] = {}
        pairs = []
        for text, offset in zip(texts, offsets, strict=False):
            stamp = stamps.get(offset)
            if stamp is None:
                stamp = stamps[offset] = isoformat(started + timedelta(microseconds=offset))
            pairs.append((stamp, text))
        return pairs

    def cached(self, name: str, build) -> Any:
        """Build a derived form once per message, whatever the number of clients."""
        value = self._cache.get(name)
        if value is None:
            with self._lock:
                value = self._cache.get(name)
                if value is None:
                    value = self._cache[name] = build()
        return value


def decode(raw: bytes | str) -> LiveEvent | None:
    """The event in a channel message; None for anything malformed."""
    try:
        data = json.loads(raw)
        return LiveEvent(
            kind=data["kind"],
            project_id=int(data["project_id"]),
            task_id=int(data["task_id"]),
            first_seq=int(data.get("first_seq", 0)),
            line_count=int(data.get("line_count", 0)),
            started=str(data.get("started", "")),
            times=str(data.get("times", "")),
            output=str(data.get("output", "")),
            update=data.get("update") or {},
        )
    except (ValueError, KeyError, TypeError):
        return None


def output_line(seq: int, time: str | None, text: str, html: bool) -> dict[str, Any]:
    line: dict[str, Any] = {"seq": seq, "time": time, "output": text}
    if html:
        line["html"] = str(line_html(text))
    return line


def output_message(project_id: int, task_id: int, lines: list[dict[str, Any]]) -> str:
    """A follower's batch: `{"type": "output", ..., "lines": [{seq, time, output[, html]}]}`."""
    return json.dumps(
        {"type": "output", "task_id": task_id, "project_id": project_id, "lines": lines}
    )


def event_lines(event: LiveEvent, html: bool) -> list[dict[str, Any]]:
    """The batch's lines in follower form (rendered once per message and form)."""
    return event.cached(
        f"lines:{html}",
        lambda: [
            output_line(event.first_seq + index, moment, text, html)
            for index, (moment, text) in enumerate(event.lines)
        ],
    )


def output_event_message(event: LiveEvent, html: bool) -> str:
    """The whole batch as one follower message (encoded once per message and form)."""
    return event.cached(
        f"message:{html}",
        lambda: output_message(event.project_id, event.task_id, event_lines(event, html)),
    )


def original_log_messages(event: LiveEvent) -> list[str]:
    """The original's one `log` message per line, plus our `seq`."""

    def build() -> list[str]:
        return [
            json.dumps(
                {
                    "type": "log",
                    "output": text,
                    "time": moment,
                    "task_id": event.task_id,
                    "project_id": event.project_id,
                    "seq": event.first_seq + index,
                }
            )
            for index, (moment, text) in enumerate(event.lines)
        ]

    return event.cached("original", build)
