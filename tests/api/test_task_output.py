"""A task's output through the API on a 200,000-line log: pages, search, streamed download."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

import pytest
from sqlalchemy import insert

from semaphore.extensions import db
from semaphore.models import Task, TaskOutputChunk, utcnow
from semaphore.schemas.tasks import TaskOutputLines
from semaphore.services.tasks import output as task_output
from tests import factories

LINES = 200_000
CHUNK = 5000


def _text(seq: int) -> str:
    if seq % 1000 == 0:
        # Every thousandth line holds the word, coloured in the middle of it half the time.
        return f"\x1b[31mfatal: \x1b[1mNEEDLE\x1b[0m {seq}" if seq % 2000 else f"found Needle {seq}"
    return f"ok: [host-{seq % 50}] => step {seq} done"


@pytest.fixture
def big_task(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = factories.template(project=project)
    task = Task(template_id=template.id, project_id=project.id, status="success")
    db.session.add(task)
    db.session.commit()
    now = utcnow()
    # Stored as the worker stores them, without announcing them: nothing else in this process
    # (a live relay left by another test) is busy while the download's memory is measured.
    rows = [
        task_output.chunk_row(
            task.id, first, [(now, _text(n)) for n in range(first, first + CHUNK)]
        )
        for first in range(1, LINES + 1, CHUNK)
    ]
    db.session.execute(insert(TaskOutputChunk), rows)
    db.session.commit()
    api = factories.api_client(app, owner)
    return api, f"/api/project/{project.id}/tasks/{task.id}"


def test_the_output_can_be_read_a_page_at_a_time(big_task):
    api, url = big_task
    page = api.get(f"{url}/output?after=149999&limit=3").json
    assert [line["output"] for line in page] == [_text(n) for n in (150000, 150001, 150002)]
    assert set(page[0]) == {"task_id", "task", "time", "output"}
    assert api.get(f"{url}/output?after=199999").json[0]["output"] == _text(200000)
    for bad in ("after=-1", "limit=ten", "after=1.5"):
        response = api.get(f"{url}/output?{bad}")
        assert response.status_code == 400 and "error" in response.json


def test_search_finds_lines_in_any_case_across_colours_a_page_at_a_time(big_task):
    api, url = big_task
    found, after = [], 0
    while after is not None:
        page = api.get(f"{url}/output/search?q=needle&after={after}&limit=70").json
        assert len(page["lines"]) <= 70
        found += page["lines"]
        after = page["next_after"]
    assert [line["seq"] for line in found] == list(range(1000, LINES + 1, 1000))
    assert found[0]["output"] == _text(1000)
    # The colour codes inside a line do not hide it: "fatal: NEEDLE" is one visible phrase.
    coloured = api.get(f"{url}/output/search?q=fatal: needle 3").json
    assert [line["seq"] for line in coloured["lines"]] == [3000] + list(range(31000, 40000, 2000))
    assert coloured["next_after"] is None
    assert api.get(f"{url}/output/search?q=no such text").json == {"lines": [], "next_after": None}


@pytest.mark.parametrize(
    "query", ["q=", "q=%20%20", "q=" + "x" * 201, "q=a&after=x", "q=a&limit=-3"]
)
def test_a_bad_search_is_refused_with_400(big_task, query):
    api, url = big_task
    response = api.get(f"{url}/output/search?{query}")
    assert response.status_code == 400 and "error" in response.json


def test_the_raw_download_is_streamed_in_bounded_memory(big_task):
    api, url = big_task
    expected_size = sum(len(_text(n).encode()) + 1 for n in range(1, LINES + 1))
    tracemalloc.start()
    try:
        response = api.client.get(f"{url}/raw_output", headers=api.headers, buffered=False)
        assert response.status_code == 200 and response.is_streamed
        size, newlines, pieces, first, last = 0, 0, 0, b"", b""
        for piece in response.response:
            piece = piece.encode() if isinstance(piece, str) else piece
            first = first or piece
            last = piece
            size += len(piece)
            newlines += piece.count(b"\n")
            pieces += 1
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == expected_size and newlines == LINES
    assert first.startswith(_text(1).encode()) and last.endswith(f"{_text(LINES)}\n".encode())
    # Sent in many small pieces, never built whole: the peak is a small part of the body.
    assert pieces >= LINES // CHUNK
    assert peak < expected_size / 4, (peak, expected_size)


def test_an_outsider_cannot_read_or_search(big_task, app):
    _, url = big_task
    outsider = factories.api_client(app, factories.user())
    for path in ("/output?limit=1", "/output/search?q=needle", "/raw_output"):
        assert outsider.get(url + path).status_code == 404


def _streamed_peak(api, path: str) -> tuple[int, int, int]:
    """(bytes, pieces, peak traced memory) of a streamed answer, read piece by piece."""
    tracemalloc.start()
    try:
        response = api.client.get(path, headers=api.headers, buffered=False)
        assert response.status_code == 200 and response.is_streamed
        assert response.mimetype == "application/json"
        size, pieces = 0, 0
        for piece in response.response:
            size += len(piece)
            pieces += 1
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return size, pieces, peak


def test_the_whole_output_is_streamed_in_flat_memory(big_task):
    api, url = big_task
    lines = api.get(f"{url}/output").json
    assert [line["output"] for line in lines] == [_text(n) for n in range(1, LINES + 1)]
    size, pieces, peak = _streamed_peak(api, f"{url}/output")
    window, _, window_peak = _streamed_peak(api, f"{url}/output?limit={LINES // 10}")
    # Sent a chunk at a time, never built whole: ten times the lines, not ten times the memory.
    assert pieces >= LINES // CHUNK
    assert size > 9 * window
    assert peak < 2 * window_peak and peak < size / 2, (peak, window_peak, size)


TRICKY = [
    'quote " and \\ backslash',
    "tab\there",
    "é ü 中文 🙂",
    "\x1b[31mred\x1b[0m",
    "",
    "\x00\x7f",
]


def test_the_streamed_output_has_the_shape_of_task_output_line(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    task = Task(template_id=factories.template(project=project).id, project_id=project.id)
    db.session.add(task)
    db.session.commit()
    started = utcnow()
    blocks = [
        (started + timedelta(milliseconds=n), "\n".join(TRICKY)) for n in range(3)
    ]  # three reads of six lines, stored as two chunks
    for first, part in ((1, blocks[:2]), (13, blocks[2:])):
        task_output.store_lines(task.id, first, part, project.id)
    db.session.commit()
    api = factories.api_client(app, owner)
    base = f"/api/project/{project.id}/tasks/{task.id}/output"
    for query, after, limit in (
        ("", 0, None),
        ("?after=4&limit=10", 4, 10),
        ("?after=17", 17, None),
    ):
        streamed = api.get(base + query).json
        expected = TaskOutputLines.dump(task_output.read_lines(task.id, after, limit))
        assert streamed == expected
    assert len(api.get(base).json) == 18
