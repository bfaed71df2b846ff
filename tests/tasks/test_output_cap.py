"""The per-task output cap (max_task_output_lines, issue 19): the run goes on, storage keeps
the first half of the cap from the start, the last half from the end, and one line after them
saying how many were dropped between the two; workers and remote runners alike. Lines keep
their numbers; the live channel announces the lines as they come, never the note."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs.task_output import OutputWriter
from semaphore.models import Task
from semaphore.queue import messages
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.api.test_runner_protocol import URL, assigned_task, runner_with_token
from tests.web.helpers import Browser

CAP = 10_000
RUN_LINES = 200_000
SEQ_RE = re.compile(r'class="log-line" id="L(\d+)" data-seq="\1"')


def _dropped(count: int, head: int, tail: int, cap: int = CAP) -> str:
    return (
        f"… {count} lines dropped between line {head} and line {tail}"
        f" (max_task_output_lines = {cap})"
    )


def _stored_seqs(task_id: int) -> list[int]:
    db.session.expire_all()
    return [line.seq for line in task_output.read_lines(task_id)]


def _stored(task_id: int) -> list[str]:
    db.session.expire_all()
    return [line.output for line in task_output.read_lines(task_id)]


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    # Two bursts: the second reaches the worker's writer in batches of its own, all past the cap.
    half = RUN_LINES // 2
    scripts = {"many.sh": f"seq 1 {half}\nsleep 0.5\nseq {half + 1} {RUN_LINES}\n"}
    return factories.git_repository(tmp_path_factory.mktemp("cap-scripts"), scripts, "scripts")


@pytest.mark.parametrize("config_overrides", [{"max_task_output_lines": CAP}])
def test_a_worker_stores_the_first_lines_and_one_saying_how_many_were_dropped(
    app, processes, script_repo
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = factories.script_template(project, script_repo, "many.sh")
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    processes.worker(SEMAPHORE_MAX_TASK_OUTPUT_LINES=str(CAP))
    deadline = time.monotonic() + 180
    while db.session.get(Task, task.id).status != "success":
        assert time.monotonic() < deadline, "the task did not end in time"
        time.sleep(0.5)
        db.session.expire_all()

    lines, seqs = _stored(task.id), _stored_seqs(task.id)
    half = CAP // 2
    assert len(lines) == CAP + 1
    # The run's own lines come after the engine's first few; the first half of the cap is
    # kept from the start, the second half from the end, where "200000" and the engine's
    # closing lines are; the note, last, counts the lines between.
    assert seqs[:half] == list(range(1, half + 1))
    first = lines.index("1")
    assert lines[first:half] == [str(n) for n in range(1, half - first + 1)]
    note_seq = seqs[-1]
    assert seqs[half:-1] == list(range(note_seq - half, note_seq))
    end = lines.index(str(RUN_LINES))
    assert lines[half : end + 1] == [str(n) for n in range(RUN_LINES - (end - half), RUN_LINES + 1)]
    dropped = note_seq - 1 - CAP
    assert int(lines[half]) - int(lines[half - 1]) - 1 == dropped
    assert lines[-1] == _dropped(dropped, half, note_seq - half)

    api = factories.api_client(app, owner)
    base = f"/project/{project.id}/tasks/{task.id}"
    raw = api.get(f"/api{base}/raw_output")
    assert raw.status_code == 200
    assert raw.get_data(as_text=True).splitlines() == lines
    listed = api.get(f"/api{base}/output").get_json()
    assert [line["output"] for line in listed] == lines

    web = Browser(app)
    web.log_in(owner)
    page = web.get(base).get_data(as_text=True)
    assert SEQ_RE.findall(page)[-1] == str(note_seq)
    assert f'data-last-seq="{note_seq}"' in page
    assert _dropped(dropped, half, note_seq - half) in page
    # "Load earlier" from the tail's first line crosses the gap to the head's last lines.
    before = task_output.read_before(task.id, note_seq - half, 10)
    assert [line.seq for line in before] == list(range(half - 9, half + 1))


@pytest.mark.parametrize("config_overrides", [{"max_task_output_lines": 4}])
def test_the_writer_keeps_the_first_and_last_lines_and_moves_the_note(app):
    task = factories.task(of=factories.template(), status="running")
    writer = OutputWriter(task.id)
    for block, stored, seqs in (
        ("a\nb\nc", ["a", "b", "c"], [1, 2, 3]),
        ("d\ne\nf", ["a", "b", "e", "f", _dropped(2, 2, 5, 4)], [1, 2, 5, 6, 7]),
        ("g", ["a", "b", "f", "g", _dropped(3, 2, 6, 4)], [1, 2, 6, 7, 8]),
        ("h\ni", ["a", "b", "h", "i", _dropped(5, 2, 8, 4)], [1, 2, 8, 9, 10]),
    ):
        writer.write(block)
        writer.flush()
        assert _stored(task.id) == stored
        assert _stored_seqs(task.id) == seqs
    # What a writer started later, or a runner's next report, numbers on from.
    assert task_output.next_seq(task.id) == 10


def _report(client, token: str, task_id: int, texts: list[str], status: str = "running"):
    records = [{"time": "2024-05-01T10:00:00Z", "message": text} for text in texts]
    body = {"Jobs": [{"ID": task_id, "Status": status, "LogRecords": records}]}
    response = client.put(URL, json=body, headers={"X-Runner-Token": token})
    assert response.status_code == 204


def _announced(subscription) -> list[tuple[int, int, str]]:
    """(first seq, line count, text) of each chunk the live channel announced."""
    found = []
    while (message := subscription.get_message(timeout=0.5)) is not None:
        if message["type"] != "message":
            continue
        event = json.loads(message["data"])
        if event["kind"] == "lines":
            found.append((event["first_seq"], event["line_count"], event["output"]))
    return found


@pytest.mark.parametrize("config_overrides", [{"max_task_output_lines": 5}])
def test_a_runners_reports_are_cut_at_the_cap_and_the_count_kept_up_to_date(client):
    runner, token = runner_with_token(name="r")
    task = assigned_task(runner)
    subscription = broker.connection().pubsub()
    subscription.subscribe(broker.key(messages.CHANNEL))
    subscription.get_message(timeout=1)  # the subscription's confirmation

    _report(client, token, task.id, ["one", "two", "three"])
    assert _stored(task.id) == ["one", "two", "three"]
    _report(client, token, task.id, ["four", "five", "six", "seven"])
    assert _stored(task.id) == ["one", "two", "three", "six", "seven", _dropped(2, 3, 6, 5)]
    _report(client, token, task.id, [f"more {n}" for n in range(10)], status="success")
    stored = _stored(task.id)
    assert stored == ["one", "two", "three", "more 8", "more 9", _dropped(12, 3, 16, 5)]
    assert _stored_seqs(task.id) == [1, 2, 3, 16, 17, 18]
    assert db.session.get(Task, task.id).status == "success"

    # Followers heard of each batch's lines in the window as they came; never of the note,
    # whose number the next batch's first line takes.
    assert _announced(subscription) == [
        (1, 3, "one\ntwo\nthree"),
        (6, 2, "six\nseven"),
        (16, 2, "more 8\nmore 9"),
    ]
    subscription.close()


@pytest.mark.parametrize("config_overrides", [{"max_task_output_lines": 3}])
def test_the_servers_own_lines_are_kept_past_the_cap(app):
    template = factories.template()
    task = factories.task(of=template, status="running")
    first = task_output.next_seq(task.id)
    given = task_output.store_lines(task.id, first, [(task.created, "a\nb\nc\nd\ne")])
    task_output.append_line(task.id, "The worker running this task stopped unexpectedly.")
    db.session.commit()
    assert given == 5 and task_output.next_seq(task.id) == 8
    assert _stored(task.id) == [
        "a",
        "b",
        "e",
        _dropped(2, 2, 5, 3),
        "The worker running this task stopped unexpectedly.",
    ]


@pytest.mark.parametrize("config_overrides", [{"max_task_output_lines": 3}])
def test_a_cap_set_while_a_task_ran_applies_to_its_stored_lines_without_losing_any_kept(app):
    task = factories.task(of=factories.template(), status="running")
    # Stored before the server got its cap: rows of lines 1-3 and 4-6.
    for first, block in ((1, "a\nb\nc"), (4, "d\ne\nf")):
        task_output.store_lines(task.id, first, [(task.created, block)], cap=0)
    db.session.commit()
    assert task_output.next_seq(task.id) == 7
    task_output.store_lines(task.id, 7, [(task.created, "g\nh")])
    db.session.commit()
    # Head 2, tail 1: the row across the head's end is cut, the one inside the gap deleted.
    assert _stored(task.id) == ["a", "b", "h", _dropped(5, 2, 8, 3)]
    assert _stored_seqs(task.id) == [1, 2, 8, 9]
    assert task_output.next_seq(task.id) == 9


@pytest.mark.parametrize("config_overrides", [{"max_task_output_lines": 6}])
def test_a_row_reaching_across_the_whole_gap_keeps_both_ends(app):
    task = factories.task(of=factories.template(), status="running")
    # One read of 12 lines: head 3 and tail 3 of one block, each line keeping its time.
    block = "\n".join(str(n) for n in range(1, 13))
    task_output.store_lines(task.id, 1, [(task.created, block)])
    db.session.commit()
    assert _stored(task.id) == ["1", "2", "3", "10", "11", "12", _dropped(6, 3, 10, 6)]
    assert _stored_seqs(task.id) == [1, 2, 3, 10, 11, 12, 13]
    times = {line.time for line in task_output.read_lines(task.id)[:-1]}
    assert times == {task.created}
    # Stored under no cap first, then capped: one old row across both ends of the gap.
    other = factories.task(of=factories.template(), status="running")
    task_output.store_lines(other.id, 1, [(other.created, block)], cap=0)
    task_output.store_lines(other.id, 13, [(other.created, "13")])
    db.session.commit()
    assert _stored(other.id) == ["1", "2", "3", "11", "12", "13", _dropped(7, 3, 11, 6)]
    assert _stored_seqs(other.id) == [1, 2, 3, 11, 12, 13, 14]
    assert [line.seq for line in task_output.tail(other.id, 4)] == [11, 12, 13, 14]
    assert [line.seq for line in task_output.read_before(other.id, 11, 2)] == [2, 3]
