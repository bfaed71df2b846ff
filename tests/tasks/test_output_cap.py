"""The per-task output cap (max_task_output_lines, issue 19): the run goes on, storage keeps
the first N lines and one more saying how many were dropped; workers and remote runners alike,
and the live channel never announces a dropped line."""

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


def _dropped(count: int, cap: int = CAP) -> str:
    return f"… {count} lines dropped (max_task_output_lines = {cap})"


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

    lines = _stored(task.id)
    assert len(lines) == CAP + 1
    # The run's own lines come after the engine's first few: the last one kept says how
    # many of the 200,000 were left out.
    last_kept = int(lines[-2])
    first = lines.index("1")
    assert lines[first:-1] == [str(n) for n in range(1, last_kept + 1)]
    assert lines[-1] == _dropped(RUN_LINES - last_kept)

    api = factories.api_client(app, owner)
    base = f"/project/{project.id}/tasks/{task.id}"
    raw = api.get(f"/api{base}/raw_output")
    assert raw.status_code == 200
    assert raw.get_data(as_text=True).splitlines() == lines

    web = Browser(app)
    web.log_in(owner)
    page = web.get(base).get_data(as_text=True)
    assert SEQ_RE.findall(page)[-1] == str(CAP + 1)
    assert f'data-last-seq="{CAP + 1}"' in page
    assert _dropped(RUN_LINES - last_kept) in page


@pytest.mark.parametrize("config_overrides", [{"max_task_output_lines": 4}])
def test_the_writer_counts_dropped_lines_from_its_own_numbering(app):
    task = factories.task(of=factories.template(), status="running")
    writer = OutputWriter(task.id)
    for block, stored in (
        ("a\nb\nc", ["a", "b", "c"]),
        ("d\ne\nf", ["a", "b", "c", "d", _dropped(2, 4)]),
        ("g", ["a", "b", "c", "d", _dropped(3, 4)]),
        ("h\ni", ["a", "b", "c", "d", _dropped(5, 4)]),
    ):
        writer.write(block)
        writer.flush()
        assert _stored(task.id) == stored
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
    assert _stored(task.id) == ["one", "two", "three", "four", "five", _dropped(2, 5)]
    _report(client, token, task.id, [f"more {n}" for n in range(10)], status="success")
    stored = _stored(task.id)
    assert stored == ["one", "two", "three", "four", "five", _dropped(12, 5)]
    assert db.session.get(Task, task.id).status == "success"

    # Followers heard of the stored lines only, the count line once, as it first was.
    assert _announced(subscription) == [
        (1, 3, "one\ntwo\nthree"),
        (4, 2, "four\nfive"),
        (6, 1, _dropped(2, 5)),
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
    assert given == 5 and task_output.next_seq(task.id) == 6
    assert _stored(task.id) == [
        "a",
        "b",
        "c",
        _dropped(2, 3),
        "The worker running this task stopped unexpectedly.",
    ]


@pytest.mark.parametrize("config_overrides", [{"max_task_output_lines": 3}])
def test_a_cap_set_while_a_task_ran_never_overwrites_its_stored_lines(app):
    task = factories.task(of=factories.template(), status="running")
    # Stored before the server got its cap: rows of lines 1-3 and 4-6.
    for first, block in ((1, "a\nb\nc"), (4, "d\ne\nf")):
        task_output.store_lines(task.id, first, [(task.created, block)], cap=0)
    db.session.commit()
    assert task_output.next_seq(task.id) == 7
    task_output.store_lines(task.id, 7, [(task.created, "g\nh")])
    db.session.commit()
    assert _stored(task.id) == ["a", "b", "c", "d", "e", "f"]
