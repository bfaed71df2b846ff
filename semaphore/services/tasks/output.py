"""A task's output lines: written in chunks (many lines per row), read back line by line.

Writers give blocks of lines in order, each block the lines of one read joined by "\n" with
the time they were read; nothing here handles a line on its own while writing. Readers page
by line number (`seq`, from 1), so a million-line log is a few hundred rows and any window of
it costs a few rows to read. Every writer (the workers' OutputWriter, the runners' reports)
stores through `store_lines`, which keeps at most max_task_output_lines of a task's lines.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from semaphore.config import current_config
from semaphore.extensions import db
from semaphore.models import Task, TaskOutputChunk, utcnow
from semaphore.models.task import line_offsets, times_token
from semaphore.queue import publish

# A chunk row is closed at the first block boundary after this many lines: readers decode a
# chunk whole to show a window of it. Blocks are never cut (that would cost a Python call per
# line); one block is at most one read, engine.process.READ_SIZE bytes.
CHUNK_LINES = 5000
# The line that ends an output cut at max_task_output_lines (its count is read back by next_seq).
DROPPED = "… {dropped} lines dropped (max_task_output_lines = {cap})"
_DROPPED = re.compile(r"… (\d+) lines dropped \(max_task_output_lines = \d+\)")


@dataclass(frozen=True)
class OutputLine:
    task_id: int
    seq: int
    time: datetime
    output: str


ONE_MICROSECOND = timedelta(microseconds=1)


def chunk_rows(
    task_id: int,
    first_seq: int,
    blocks: Sequence[tuple[datetime, str]],
    max_lines: int = CHUNK_LINES,
) -> list[dict]:
    """The rows for consecutive blocks of lines (each block one or more lines joined by "\n",
    with the time they were read), starting at line first_seq; a row is closed at the first
    block boundary after max_lines lines."""
    rows: list[dict] = []
    texts: list[str] = []
    times: list[str] = []
    count, started = 0, None
    for at, block in blocks:
        if started is None:
            started = at
        lines = block.count("\n") + 1
        texts.append(block)
        times.append(times_token((at - started) // ONE_MICROSECOND, lines))
        count += lines
        if count >= max_lines:
            rows.append(_row(task_id, first_seq, count, started, times, texts))
            first_seq += count
            texts, times, count, started = [], [], 0, None
    if count:
        rows.append(_row(task_id, first_seq, count, started, times, texts))
    return rows


def _row(
    task_id: int, first_seq: int, count: int, started: datetime, times: list[str], texts: list[str]
) -> dict:
    output = "\n".join(texts)
    if "\x00" in output:
        # No database stores NUL in text (PostgreSQL refuses the row): shown as U+FFFD, as
        # bytes that are not UTF-8 are.
        output = output.replace("\x00", "\ufffd")
    return {
        "task_id": task_id,
        "first_seq": first_seq,
        "line_count": count,
        "started": started,
        "times": ",".join(times),
        "output": output,
    }


def chunk_row(task_id: int, first_seq: int, lines: Sequence[tuple[datetime, str]]) -> dict:
    """The one row for consecutive lines (each with its time) starting at first_seq."""
    [row] = chunk_rows(task_id, first_seq, lines, max_lines=sys.maxsize)
    return row


def store_lines(
    task_id: int,
    first_seq: int,
    lines: Sequence[tuple[datetime, str]],
    project_id: int | None = None,
    cap: int | None = None,
) -> int:
    """Add blocks of lines (or single lines), each with its time, as chunk rows numbered from
    first_seq; returns how many lines were given. The caller commits; followers hear of each
    chunk after the commit.

    Past the output cap (`cap`, else max_task_output_lines) lines are numbered but not stored:
    line cap+1 says how many were dropped, rewritten by each later call. A batch past the cap
    costs that one-row UPDATE instead of its INSERT.
    """
    cap = current_config().max_task_output_lines if cap is None else cap
    given = sum(block.count("\n") + 1 for _, block in lines) if cap else 0
    if cap and first_seq + given - 1 > cap:
        return _store_capped(task_id, first_seq, lines, project_id, cap, given)
    rows = chunk_rows(task_id, first_seq, lines)
    _insert(task_id, rows, project_id)
    return sum(row["line_count"] for row in rows)


def _store_capped(
    task_id: int,
    first_seq: int,
    lines: Sequence[tuple[datetime, str]],
    project_id: int | None,
    cap: int,
    given: int,
) -> int:
    """store_lines for a batch that reaches past the cap."""
    note = DROPPED.format(dropped=first_seq + given - 1 - cap, cap=cap)
    if first_seq > cap + 1:
        # The note is stored already: only its count changes (nothing new to announce). Only
        # the note: a server restarted with a lower cap must not overwrite a task's lines.
        db.session.execute(
            update(TaskOutputChunk)
            .where(
                TaskOutputChunk.task_id == task_id,
                TaskOutputChunk.first_seq == cap + 1,
                TaskOutputChunk.output.like(DROPPED.format(dropped="%", cap=cap)),
            )
            .values(output=note)
        )
        return given
    kept, dropped_at = _first_lines(lines, cap + 1 - first_seq)
    # The note is a row of its own, so that later batches rewrite one short row.
    rows = chunk_rows(task_id, first_seq, kept)
    rows.append(chunk_row(task_id, cap + 1, [(dropped_at, note)]))
    _insert(task_id, rows, project_id)
    return given


def _first_lines(
    blocks: Sequence[tuple[datetime, str]], count: int
) -> tuple[list[tuple[datetime, str]], datetime]:
    """The first `count` lines of these blocks (the last block kept may be cut), and the time
    of the first line left out."""
    kept: list[tuple[datetime, str]] = []
    for at, block in blocks:
        lines = block.count("\n") + 1
        if lines > count:
            if count:
                kept.append((at, "\n".join(block.split("\n", count)[:count])))
            return kept, at
        kept.append((at, block))
        count -= lines
    raise ValueError("no line is left out")


def _insert(task_id: int, rows: list[dict], project_id: int | None) -> None:
    if not rows:
        return
    db.session.execute(insert(TaskOutputChunk), rows)
    if project_id is None:
        project_id = db.session.scalar(select(Task.project_id).where(Task.id == task_id))
    for row in rows:
        publish.lines_stored(db.session(), project_id, row)


def append_line(task_id: int, text: str, at: datetime | None = None) -> int:
    """Add one line after the last stored one; returns its seq (the caller commits). The
    server's own lines (a lost worker, a failed notification) are stored past the cap too."""
    seq = last_seq(task_id) + 1
    store_lines(task_id, seq, [(at or utcnow(), text)], cap=0)
    return seq


def last_seq(task_id: int) -> int:
    """The number of the task's last stored line (0 when there is none)."""
    query = select(func.max(TaskOutputChunk.first_seq + TaskOutputChunk.line_count - 1)).where(
        TaskOutputChunk.task_id == task_id
    )
    return db.session.scalar(query) or 0


def next_seq(task_id: int) -> int:
    """The number the task's next output line gets: after the last stored one, or past the
    output cap, after the last dropped one (its count is read from the note at line cap+1)."""
    last = last_seq(task_id)
    cap = current_config().max_task_output_lines
    if not cap or last <= cap:
        return last + 1
    note = db.session.scalar(
        select(TaskOutputChunk.output).where(
            TaskOutputChunk.task_id == task_id, TaskOutputChunk.first_seq == cap + 1
        )
    )
    found = _DROPPED.fullmatch(note or "")
    return cap + 1 + int(found.group(1)) if found else last + 1


def _lines_of(chunk: TaskOutputChunk) -> Iterator[OutputLine]:
    texts = chunk.output.split("\n")
    offsets = line_offsets(chunk.times, len(texts))
    for index, (text, offset) in enumerate(zip(texts, offsets, strict=False)):
        yield OutputLine(
            chunk.task_id,
            chunk.first_seq + index,
            chunk.started + timedelta(microseconds=offset),
            text,
        )


def _chunks_after(task_id: int, after: int) -> Iterator[TaskOutputChunk]:
    """The chunks holding lines after line `after`, in order, fetched a few rows at a time."""
    query = (
        select(TaskOutputChunk)
        .where(
            TaskOutputChunk.task_id == task_id,
            TaskOutputChunk.first_seq + TaskOutputChunk.line_count - 1 > after,
        )
        .order_by(TaskOutputChunk.first_seq)
        .execution_options(yield_per=8)
    )
    return iter(db.session.scalars(query))


def read_lines(task_id: int, after: int = 0, limit: int | None = None) -> list[OutputLine]:
    """Lines with seq > after, in order, at most `limit` of them."""
    return list(iter_lines(task_id, after, limit))


def iter_lines(task_id: int, after: int = 0, limit: int | None = None) -> Iterator[OutputLine]:
    """Like read_lines, fetching chunk rows a few at a time (for streaming downloads)."""
    produced = 0
    for chunk in _chunks_after(task_id, after):
        for line in _lines_of(chunk):
            if line.seq <= after:
                continue
            if limit is not None and produced >= limit:
                return
            produced += 1
            yield line


@dataclass(frozen=True)
class LineBlock:
    """Consecutive lines of one chunk: numbers from first_seq, with their times and texts."""

    task_id: int
    first_seq: int
    times: list[datetime]
    texts: list[str]


def iter_blocks(task_id: int, after: int = 0, limit: int | None = None) -> Iterator[LineBlock]:
    """The lines after line `after` (at most `limit`), a chunk at a time: what a reader of a
    whole log streams without an object per line."""
    left = limit
    for chunk in _chunks_after(task_id, after):
        texts = chunk.output.split("\n")
        offsets = line_offsets(chunk.times, len(texts))
        skip = max(after - chunk.first_seq + 1, 0)
        if skip:
            texts, offsets = texts[skip:], offsets[skip:]
        if left is not None:
            texts, offsets = texts[:left], offsets[:left]
            left -= len(texts)
        # Lines of one read share a time: one datetime per distinct offset.
        moments = {offset: chunk.started + offset * ONE_MICROSECOND for offset in set(offsets)}
        times = [moments[offset] for offset in offsets]
        if texts:
            yield LineBlock(chunk.task_id, chunk.first_seq + skip, times, texts)
        if left == 0:
            return


def iter_text(task_id: int) -> Iterator[str]:
    """The whole output as text, a chunk (a few thousand lines) at a time, each line ending
    in a newline: a download holds two chunks in memory whatever the log's size."""
    query = (
        select(TaskOutputChunk.output)
        .where(TaskOutputChunk.task_id == task_id)
        .order_by(TaskOutputChunk.first_seq)
        .execution_options(yield_per=2)
    )
    for text in db.session.scalars(query):
        yield text + "\n"


def tail(task_id: int, limit: int) -> list[OutputLine]:
    """The last `limit` lines (where a big log's page opens)."""
    return read_lines(task_id, max(last_seq(task_id) - limit, 0), limit)


def read_before(task_id: int, before: int, limit: int) -> list[OutputLine]:
    """Up to `limit` lines just before line `before` (for "load earlier")."""
    if before <= 1:
        return []
    first = max(before - limit, 1)
    return read_lines(task_id, first - 1, before - first)


# What terminals act on but people do not read: CSI (colours, cursor), OSC (titles, links)
# and two-character escapes. Search matches the text as the page shows it.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def plain_text(text: str) -> str:
    """The text without its escape sequences."""
    return _ESCAPES.sub("", text) if "\x1b" in text else text


def search_lines(
    task_id: int, query: str, after: int = 0, limit: int = 100
) -> tuple[list[OutputLine], int | None]:
    """Lines after `after` whose visible text contains `query` (any case), in order.

    Returns at most `limit` of them and the `after` to continue from, or None when the
    output holds no more. A chunk is searched whole first, so most are never split.
    """
    needle = query.casefold()
    found: list[OutputLine] = []
    for chunk in _chunks_after(task_id, after):
        if needle not in plain_text(chunk.output).casefold():
            continue
        for line in _lines_of(chunk):
            if line.seq > after and needle in plain_text(line.output).casefold():
                found.append(line)
                if len(found) == limit:
                    return found, line.seq
    return found, None


def delete_output(task_ids: Sequence[int]) -> None:
    """Remove the output of these tasks (the caller commits)."""
    db.session.execute(delete(TaskOutputChunk).where(TaskOutputChunk.task_id.in_(task_ids)))
