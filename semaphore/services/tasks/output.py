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

from sqlalchemy import delete, func, insert, select

from semaphore.config import current_config
from semaphore.extensions import db
from semaphore.metrics import definitions as metrics
from semaphore.models import Task, TaskOutputChunk, utcnow
from semaphore.models.task import line_offsets, times_token
from semaphore.queue import publish

# A chunk row is closed at the first block boundary after this many lines: readers decode a
# chunk whole to show a window of it. Blocks are never cut (that would cost a Python call per
# line); one block is at most one read, engine.process.READ_SIZE bytes.
CHUNK_LINES = 5000
# The line that ends an output cut at max_task_output_lines: the first half of the cap is kept
# from the start of the run, the second half from its end (where the error and the recap are),
# and this line, last, says what was left out between them.
DROPPED = (
    "… {dropped} lines dropped between line {head} and line {tail} (max_task_output_lines = {cap})"
)
_DROPPED_LIKE = "… % lines dropped between line % and line % (max_task_output_lines = %)"
_DROPPED = re.compile(
    r"… \d+ lines dropped between line \d+ and line \d+ \(max_task_output_lines = \d+\)"
)


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

    Past the output cap (`cap`, else max_task_output_lines) storage keeps the first half of
    the cap and the last half of the lines so far, and one line after them saying how many
    were dropped between the two; each later call moves that window on (see _store_capped).
    """
    cap = current_config().max_task_output_lines if cap is None else cap
    given = sum(block.count("\n") + 1 for _, block in lines) if cap else 0
    if cap and first_seq + given - 1 > cap:
        _store_capped(task_id, first_seq, lines, project_id, cap, first_seq + given - 1)
        return given
    rows = chunk_rows(task_id, first_seq, lines)
    _insert(task_id, rows, project_id)
    return sum(row["line_count"] for row in rows)


def _store_capped(
    task_id: int,
    first_seq: int,
    lines: Sequence[tuple[datetime, str]],
    project_id: int | None,
    cap: int,
    end: int,
) -> None:
    """store_lines for a batch whose last line, `end`, is past the cap.

    Lines keep their numbers: 1..head and end-tail+1..end are stored, then the note at end+1.
    The batch's lines in the window are inserted (and announced: live followers see the run
    as it goes); older tail lines that fall out of it are deleted (whole rows, and at most two
    rows cut), and the note is moved after the new last line (not announced: the next batch's
    first line takes its number).
    """
    head = cap - cap // 2
    keep_from = max(end - cap // 2 + 1, head + 1)  # the first line of the tail window
    dropped = keep_from - head - 1
    kept = _lines_between(lines, first_seq, head, keep_from)
    _delete_notes(task_id, head)
    _drop_window(task_id, head, keep_from)
    rows = [row for part_first, part in kept for row in chunk_rows(task_id, part_first, part)]
    _insert(task_id, rows, project_id)
    note = DROPPED.format(dropped=dropped, head=head, tail=keep_from, cap=cap)
    last_at = lines[-1][0]
    db.session.execute(insert(TaskOutputChunk), [chunk_row(task_id, end + 1, [(last_at, note)])])


def _lines_between(
    blocks: Sequence[tuple[datetime, str]], first_seq: int, head: int, keep_from: int
) -> list[tuple[int, list[tuple[datetime, str]]]]:
    """The parts of these blocks (numbered from first_seq) up to line `head` and from line
    `keep_from` on, each as (its first seq, its blocks); a block is cut only where a part ends."""
    parts: list[tuple[int, list[tuple[datetime, str]]]] = []
    expected = 0  # the seq that continues the last part
    seq = first_seq
    for at, block in blocks:
        last = seq + block.count("\n")
        if last <= head or seq >= keep_from:
            pieces = [(seq, block)]
        else:
            texts = block.split("\n")
            pieces = []
            if seq <= head:
                pieces.append((seq, "\n".join(texts[: head - seq + 1])))
            if last >= keep_from:
                pieces.append((keep_from, "\n".join(texts[keep_from - seq :])))
        for piece_first, text in pieces:
            if parts and piece_first == expected:
                parts[-1][1].append((at, text))
            else:
                parts.append((piece_first, [(at, text)]))
            expected = piece_first + text.count("\n") + 1
        seq = last + 1
    return parts


def _delete_notes(task_id: int, head: int) -> None:
    db.session.execute(
        delete(TaskOutputChunk).where(
            TaskOutputChunk.task_id == task_id,
            TaskOutputChunk.first_seq > head,
            TaskOutputChunk.line_count == 1,
            TaskOutputChunk.output.like(_DROPPED_LIKE),
        )
    )


def _drop_window(task_id: int, head: int, keep_from: int) -> None:
    """Delete the stored lines numbered head+1 .. keep_from-1: rows inside that window
    whole, the (at most two) rows reaching across one of its ends rewritten without them."""
    if keep_from <= head + 1:
        return
    last_of = TaskOutputChunk.first_seq + TaskOutputChunk.line_count - 1
    in_task = TaskOutputChunk.task_id == task_id
    across = list(
        db.session.scalars(
            select(TaskOutputChunk).where(
                in_task,
                TaskOutputChunk.first_seq < keep_from,
                last_of > head,
                (TaskOutputChunk.first_seq <= head) | (last_of >= keep_from),
            )
        )
    )
    new_rows: list[dict] = []
    for chunk in across:
        left = [
            (line.time, line.output)
            for line in _lines_of(chunk)
            if line.seq <= head or line.seq >= keep_from
        ]
        before = max(head - chunk.first_seq + 1, 0)  # how many of `left` come before the window
        if before:
            new_rows.append(chunk_row(task_id, chunk.first_seq, left[:before]))
        if len(left) > before:
            new_rows.append(chunk_row(task_id, keep_from, left[before:]))
        db.session.expunge(chunk)
    inside = (TaskOutputChunk.first_seq > head) & (last_of < keep_from)
    ids = [chunk.id for chunk in across]
    db.session.execute(
        delete(TaskOutputChunk)
        .where(in_task, inside | TaskOutputChunk.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    if new_rows:
        db.session.execute(insert(TaskOutputChunk), new_rows)


def _insert(task_id: int, rows: list[dict], project_id: int | None) -> None:
    if not rows:
        return
    db.session.execute(insert(TaskOutputChunk), rows)
    if project_id is None:
        project_id = db.session.scalar(select(Task.project_id).where(Task.id == task_id))
    for row in rows:
        publish.lines_stored(db.session(), project_id, row)
    # Counted per batch, never per line (a batch is a few rows of up to CHUNK_LINES lines).
    metrics.output_stored(
        sum(row["line_count"] for row in rows),
        sum(len(row["output"].encode("utf-8", "replace")) for row in rows),
    )


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
    """The number the task's next output line gets: after the last stored one, or, when the
    output is past the cap and ends with its note, the note's (it moves after the next lines)."""
    last = db.session.execute(
        select(TaskOutputChunk.first_seq, TaskOutputChunk.line_count, TaskOutputChunk.output)
        .where(TaskOutputChunk.task_id == task_id)
        .order_by(TaskOutputChunk.first_seq.desc())
        .limit(1)
    ).first()
    if last is None:
        return 1
    first, count, text = last
    if count == 1 and _DROPPED.fullmatch(text):
        return first
    return first + count


# A block handed to a reader holds at most BLOCK_LINES lines cut from about BLOCK_CHARS
# characters of a chunk (a longer line comes whole). A chunk can hold one whole read of the
# run's output (engine.process.READ_SIZE, 1 MiB: 70,000 short lines); an object per line of
# it at once spreads over so many of Python's small-object arenas that the few objects
# outliving an answer keep them all, and a web process stayed 20 MB bigger (issue 17).
BLOCK_LINES = 1000
BLOCK_CHARS = 32 * 1024


def _line_groups(text: str) -> Iterator[list[str]]:
    """The lines of a chunk's text, in order, in lists of at most BLOCK_LINES lines, each
    cut from about BLOCK_CHARS characters: never a string for every line of a big chunk."""
    start = 0
    while True:
        cut = text.find("\n", start + BLOCK_CHARS) if start + BLOCK_CHARS < len(text) else -1
        lines = (text[start:cut] if cut >= 0 else text[start:]).split("\n")
        if len(lines) <= BLOCK_LINES:
            yield lines
        else:
            for at in range(0, len(lines), BLOCK_LINES):
                yield lines[at : at + BLOCK_LINES]
        if cut < 0:
            return
        start = cut + 1


def _groups(
    chunk: TaskOutputChunk, after: int = 0, before: int | None = None
) -> Iterator[tuple[int, list[int], list[str]]]:
    """The chunk's lines numbered after `after` and before `before` (all by default), a group
    of _line_groups at a time: (the number of its first line, their offsets, their texts)."""
    offsets = line_offsets(chunk.times, chunk.output.count("\n") + 1)
    seq = chunk.first_seq  # the number of the group's first line
    for texts in _line_groups(chunk.output):
        start = max(after - seq + 1, 0)
        end = len(texts) if before is None else min(len(texts), before - seq)
        if start < end:
            at = seq - chunk.first_seq
            yield seq + start, offsets[at + start : at + end], texts[start:end]
        seq += len(texts)
        if before is not None and seq >= before:
            return


def _lines_of(
    chunk: TaskOutputChunk, after: int = 0, before: int | None = None
) -> Iterator[OutputLine]:
    """The chunk's lines numbered after `after` and before `before`, one at a time."""
    for first, offsets, texts in _groups(chunk, after, before):
        for index, (offset, text) in enumerate(zip(offsets, texts, strict=True)):
            yield OutputLine(
                chunk.task_id, first + index, chunk.started + offset * ONE_MICROSECOND, text
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
    if limit is not None and limit <= 0:
        return
    produced = 0
    for chunk in _chunks_after(task_id, after):
        for line in _lines_of(chunk, after):
            yield line
            produced += 1
            if produced == limit:
                return


@dataclass(frozen=True)
class LineBlock:
    """Consecutive lines of one chunk: numbers from first_seq, with their times and texts."""

    task_id: int
    first_seq: int
    times: list[datetime]
    texts: list[str]


def iter_blocks(task_id: int, after: int = 0, limit: int | None = None) -> Iterator[LineBlock]:
    """The lines after line `after` (at most `limit`), a block of at most BLOCK_LINES lines at
    a time: what a reader of a whole log streams without an object per line of it at once."""
    left = limit
    if left == 0:
        return
    for chunk in _chunks_after(task_id, after):
        for first, offsets, texts in _groups(chunk, after):
            if left is not None:
                texts, offsets = texts[:left], offsets[:left]
                left -= len(texts)
            # Lines of one read share a time: one datetime per distinct offset.
            moments = {offset: chunk.started + offset * ONE_MICROSECOND for offset in set(offsets)}
            yield LineBlock(chunk.task_id, first, [moments[offset] for offset in offsets], texts)
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
    return read_before(task_id, last_seq(task_id) + 1, limit)


def read_before(task_id: int, before: int, limit: int) -> list[OutputLine]:
    """Up to `limit` stored lines just before line `before` (for "load earlier"), in order;
    across the gap an output cap leaves, they come from before it."""
    if before <= 1 or limit <= 0:
        return []
    query = (
        select(TaskOutputChunk)
        .where(TaskOutputChunk.task_id == task_id, TaskOutputChunk.first_seq < before)
        .order_by(TaskOutputChunk.first_seq.desc())
        .execution_options(yield_per=4)
    )
    found: list[OutputLine] = []
    for chunk in db.session.scalars(query):
        # Only the lines wanted are made: a chunk can hold 70,000 (see BLOCK_LINES).
        last = min(before - 1, chunk.first_seq + chunk.output.count("\n"))
        found[:0] = _lines_of(chunk, after=last - (limit - len(found)), before=before)
        if len(found) >= limit:
            break
    return found


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
        for line in _lines_of(chunk, after):
            if needle in plain_text(line.output).casefold():
                found.append(line)
                if len(found) == limit:
                    return found, line.seq
    return found, None


def delete_output(task_ids: Sequence[int]) -> None:
    """Remove the output of these tasks (the caller commits)."""
    db.session.execute(delete(TaskOutputChunk).where(TaskOutputChunk.task_id.in_(task_ids)))
