"""GET …/output on chunks as a fast run stores them: one read of 1 MiB is one chunk of some
70,000 lines. The answer is the same text as before, and it is read and written a bounded
block of lines at a time, never an object per line of a whole chunk (issue 17)."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import insert, select

from semaphore.extensions import db
from semaphore.models import Task, TaskOutputChunk, utcnow
from semaphore.models.task import line_offsets
from semaphore.schemas.tasks import TaskOutputLines
from semaphore.services.tasks import output as task_output
from tests import factories

# One read of `seq 1 70000 | sed 's/^/line /'`: a single block, so a single chunk.
FAST_READ = 70_000


def _odd(seq: int) -> str:
    """Lines a block cut must not change: empty, escapes, quotes, non-ASCII, one very long."""
    if seq % 997 == 0:
        return "x" * (3 * task_output.BLOCK_CHARS)
    odd = ("", 'q " \\ \t', "é 中文 🙂 \x1b[31mred\x1b[0m", "\x01\x7f controls", f"l {seq}")
    return odd[seq % 5]


@pytest.fixture
def fast_task(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    task = Task(
        template_id=factories.template(project=project).id,
        project_id=project.id,
        status="success",
    )
    db.session.add(task)
    db.session.commit()
    started = utcnow()
    one_read = [(started, "\n".join(f"line {n}" for n in range(1, FAST_READ + 1)))]
    # Then reads of a few lines each, a millisecond apart: times change inside a block.
    odd_reads = [
        (
            started + timedelta(milliseconds=n),
            "\n".join(_odd(seq) for seq in range(first, first + 7)),
        )
        for n, first in enumerate(range(FAST_READ + 1, FAST_READ + 1 + 7 * 1500, 7))
    ]
    # Stored as the worker stores them (store_lines' chunk_rows), without announcing them.
    rows = task_output.chunk_rows(task.id, 1, one_read) + task_output.chunk_rows(
        task.id, FAST_READ + 1, odd_reads
    )
    assert rows[0]["line_count"] == FAST_READ  # the whole read is one chunk
    db.session.execute(insert(TaskOutputChunk), rows)
    db.session.commit()
    return factories.api_client(app, owner), task, FAST_READ + 7 * 1500


def _stored(task_id: int) -> list[task_output.OutputLine]:
    """Every stored line, decoded the plain way: each chunk split whole."""
    lines = []
    query = select(TaskOutputChunk).where(TaskOutputChunk.task_id == task_id)
    for chunk in db.session.scalars(query.order_by(TaskOutputChunk.first_seq)):
        texts = chunk.output.split("\n")
        offsets = line_offsets(chunk.times, len(texts))
        for index, (text, offset) in enumerate(zip(texts, offsets, strict=True)):
            at = chunk.started + timedelta(microseconds=offset)
            lines.append(task_output.OutputLine(task_id, chunk.first_seq + index, at, text))
    return lines


def _expected(task_id: int, after: int, limit: int | None) -> bytes:
    lines = [line for line in _stored(task_id) if line.seq > after][:limit]
    return json.dumps(TaskOutputLines.dump(lines), separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("after", "limit"),
    [
        (0, None),
        (0, 0),
        (0, 1),
        (task_output.BLOCK_LINES - 1, 2 * task_output.BLOCK_LINES + 3),
        (FAST_READ - 5, 20),  # across the two chunks
        (FAST_READ + 996, 3),  # around the long line
        (FAST_READ + 7 * 1500 - 1, None),
        (FAST_READ + 7 * 1500, None),
    ],
)
def test_the_answer_is_the_text_of_its_lines_dumped_whole(fast_task, after, limit):
    api, task, _ = fast_task
    query = f"?after={after}" + (f"&limit={limit}" if limit is not None else "")
    path = f"/api/project/{task.project_id}/tasks/{task.id}/output{query}"
    response = api.client.get(path, headers=api.headers)
    assert response.status_code == 200
    assert response.data == _expected(task.id, after, limit)


def test_a_chunk_of_one_big_read_is_read_a_bounded_block_at_a_time(fast_task):
    _, task, total = fast_task
    blocks = list(task_output.iter_blocks(task.id))
    sizes = [len(block.texts) for block in blocks]
    assert sum(sizes) == total
    assert max(sizes) <= task_output.BLOCK_LINES
    # The first chunk's 70,000 lines come in many blocks, not one.
    assert len(blocks) >= FAST_READ // task_output.BLOCK_LINES
    for block in blocks:
        # Cut from BLOCK_CHARS characters of text and the line reaching past them (the long
        # ones come whole).
        assert len("\n".join(block.texts[:-1])) < task_output.BLOCK_CHARS
    # Numbered on from one block to the next, the times going with their lines.
    assert blocks[0].first_seq == 1
    for previous, block in pairwise(blocks):
        assert block.first_seq == previous.first_seq + len(previous.texts)
    lines = _stored(task.id)
    assert [time for block in blocks for time in block.times] == [line.time for line in lines]
    assert [text for block in blocks for text in block.texts] == [line.output for line in lines]


@pytest.mark.parametrize(
    ("before", "limit"),
    [(2, 1), (FAST_READ + 1, 2000), (FAST_READ + 3, 2000), (FAST_READ + 7 * 1500 + 1, 5000)],
)
def test_earlier_lines_are_those_stored(fast_task, before, limit):
    _, task, _ = fast_task
    expected = [line for line in _stored(task.id) if line.seq < before][-limit:]
    assert task_output.read_before(task.id, before, limit) == expected


@pytest.mark.parametrize(
    ("query", "after", "limit"),
    [("line 6999", 0, 500), ("line 6999", 69_991, 3), ("RED", FAST_READ - 1, 100), ("l 8", 0, 50)],
)
def test_search_finds_the_lines_stored(fast_task, query, after, limit):
    _, task, _ = fast_task
    matching = [
        line
        for line in _stored(task.id)
        if line.seq > after and query.casefold() in task_output.plain_text(line.output).casefold()
    ]
    found, next_after = task_output.search_lines(task.id, query, after, limit)
    assert found == matching[:limit]
    assert next_after == (found[-1].seq if len(matching) >= limit else None)


def test_the_whole_answer_is_written_a_block_at_a_time(fast_task):
    api, task, total = fast_task
    path = f"/api/project/{task.project_id}/tasks/{task.id}/output"
    response = api.client.get(path, headers=api.headers, buffered=False)
    assert response.status_code == 200 and response.is_streamed
    pieces = [piece for piece in response.response]
    response.close()
    assert len(pieces) >= total // task_output.BLOCK_LINES
    assert b"".join(pieces) == _expected(task.id, 0, None)


def test_the_last_lines_of_a_big_chunk_are_read_without_a_line_object_for_each(
    fast_task, monkeypatch
):
    _, task, _ = fast_task
    made = []

    class Counted(task_output.OutputLine):
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            made.append(self.seq)

    monkeypatch.setattr(task_output, "OutputLine", Counted)
    # The page opens on the last lines before the 70,000-line chunk's end.
    lines = task_output.read_before(task.id, FAST_READ + 1, 20)
    assert [line.seq for line in lines] == list(range(FAST_READ - 19, FAST_READ + 1))
    assert made == [line.seq for line in lines]
