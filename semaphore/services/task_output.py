"""A task's output lines: written in chunks (many lines per row), read back line by line.

Writers give lines in order with their times; readers page by line number (`seq`, from 1),
so a million-line log is a few hundred rows and any window of it costs a few rows to read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select

from semaphore.extensions import db
from semaphore.models import TaskOutputChunk, utcnow


@dataclass(frozen=True)
class OutputLine:
    task_id: int
    seq: int
    time: datetime
    output: str


ONE_MICROSECOND = timedelta(microseconds=1)


def _encode_times(started: datetime, times: Sequence[datetime]) -> str:
    # Lines read together share one time object: convert each distinct time once.
    parts: list[str] = []
    previous, encoded = None, ""
    for moment in times:
        if moment is not previous:
            previous, encoded = moment, str((moment - started) // ONE_MICROSECOND)
        parts.append(encoded)
    return ",".join(parts)


def chunk_row(task_id: int, first_seq: int, lines: Sequence[tuple[datetime, str]]) -> dict:
    """The row for consecutive lines (each without a newline) starting at first_seq."""
    started = lines[0][0]
    return {
        "task_id": task_id,
        "first_seq": first_seq,
        "line_count": len(lines),
        "started": started,
        "times": _encode_times(started, [t for t, _ in lines]),
        "output": "\n".join(text for _, text in lines),
    }


def store_lines(task_id: int, first_seq: int, lines: Sequence[tuple[datetime, str]]) -> None:
    """Add lines as one chunk (the caller commits)."""
    if lines:
        db.session.execute(insert(TaskOutputChunk), [chunk_row(task_id, first_seq, lines)])


def append_line(task_id: int, text: str, at: datetime | None = None) -> int:
    """Add one line after the last stored one; returns its seq (the caller commits)."""
    seq = last_seq(task_id) + 1
    store_lines(task_id, seq, [(at or utcnow(), text)])
    return seq


def last_seq(task_id: int) -> int:
    """The number of the task's last stored line (0 when there is none)."""
    query = select(func.max(TaskOutputChunk.first_seq + TaskOutputChunk.line_count - 1)).where(
        TaskOutputChunk.task_id == task_id
    )
    return db.session.scalar(query) or 0


def _lines_of(chunk: TaskOutputChunk) -> Iterator[OutputLine]:
    texts = chunk.output.split("\n")
    offsets = chunk.times.split(",") if chunk.times else ["0"] * len(texts)
    for index, (text, offset) in enumerate(zip(texts, offsets, strict=False)):
        yield OutputLine(
            chunk.task_id,
            chunk.first_seq + index,
            chunk.started + timedelta(microseconds=int(offset)),
            text,
        )


def read_lines(task_id: int, after: int = 0, limit: int | None = None) -> list[OutputLine]:
    """Lines with seq > after, in order, at most `limit` of them."""
    return list(iter_lines(task_id, after, limit))


def iter_lines(task_id: int, after: int = 0, limit: int | None = None) -> Iterator[OutputLine]:
    """Like read_lines, fetching chunk rows a few at a time (for streaming downloads)."""
    query = (
        select(TaskOutputChunk)
        .where(
            TaskOutputChunk.task_id == task_id,
            TaskOutputChunk.first_seq + TaskOutputChunk.line_count - 1 > after,
        )
        .order_by(TaskOutputChunk.first_seq)
        .execution_options(yield_per=8)
    )
    produced = 0
    for chunk in db.session.scalars(query):
        for line in _lines_of(chunk):
            if line.seq <= after:
                continue
            if limit is not None and produced >= limit:
                return
            produced += 1
            yield line


def delete_output(task_ids: Sequence[int]) -> None:
    """Remove the output of these tasks (the caller commits)."""
    db.session.execute(delete(TaskOutputChunk).where(TaskOutputChunk.task_id.in_(task_ids)))
