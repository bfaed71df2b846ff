"""Output ingest (issue 17): the lines of each read are handled as one block — decoded, masked
and stored together — yet every line keeps its own read time, its place and its masking."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.task_output import OutputWriter
from semaphore.jobs.tasks import run_task
from semaphore.models import Task
from semaphore.models.task import line_offsets
from semaphore.services import environments, tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories

SECRET = "s3cr3t-t0ken-9"
HALF = 100_000
BULK = (
    # 100,000 lines, every 1,000th carrying the secret; a pause; 100,000 more; a CRLF line.
    f'seq 1 {HALF} | sed "s/^/line /; 0~1000 s/$/ token=$DEPLOY_TOKEN/"\n'
    "sleep 0.5\n"
    f"seq {HALF + 1} {2 * HALF} | sed 's/^/line /'\n"
    "printf 'crlf line\\r\\n'\n"
    "printf 'nul\\0byte\\n'\n"
)


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("ingest"), {"bulk.sh": BULK})


def test_200000_lines_keep_their_order_their_times_and_their_masking(app, script_repo):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    access = project_access(owner, project.id)
    secret = {"type": "env", "name": "DEPLOY_TOKEN", "secret": SECRET, "operation": "create"}
    environment = environments.create_environment(
        access, {"name": "prod", "json": "{}", "secrets": [secret]}
    )
    repository = factories.repository(
        project=project, git_url=f"file://{script_repo}", git_branch="main"
    )
    template = factories.template(
        project=project,
        app="bash",
        playbook="bulk.sh",
        repository_id=repository.id,
        inventory_id=None,
        environment_id=environment.id,
    )
    task = tasks.create_task(access, {"template_id": template.id})
    runtime.set_app(app)
    run_task(task.id)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "success"

    lines = task_output.read_lines(task.id)
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1))
    script = [line for line in lines if line.output.startswith("line ")]
    expected = [
        f"line {n} token=********" if n <= HALF and n % 1000 == 0 else f"line {n}"
        for n in range(1, 2 * HALF + 1)
    ]
    assert [line.output for line in script] == expected
    assert not any(SECRET in line.output for line in lines)
    assert any(line.output == "crlf line" for line in lines)
    assert any(line.output == "nul\ufffdbyte" for line in lines)  # no database stores NUL

    times = [line.time for line in lines]
    assert times == sorted(times)
    # Each line has the time it was read, not the time its batch was stored: the pause
    # between the halves shows between lines 100,000 and 100,001, and nowhere else.
    first_half, second_half = script[HALF - 1], script[HALF]
    assert second_half.time - first_half.time >= timedelta(seconds=0.4)
    assert script[HALF - 1].time - script[0].time < second_half.time - first_half.time
    # Many reads went into the log: lines do not all share a few times.
    assert len(set(times)) > 10


def test_blocks_are_gathered_into_chunks_whole():
    started = datetime(2026, 1, 1, tzinfo=UTC)
    later = started + timedelta(milliseconds=7)
    blocks = [(started, "a\nb"), (later, "c\nd"), (later, "e"), (later, "f\ng\nh\ni"), (later, "j")]
    rows = task_output.chunk_rows(1, 10, blocks, max_lines=3)
    # A row closes at the first block boundary past three lines; no block is cut.
    assert [(row["first_seq"], row["line_count"]) for row in rows] == [(10, 4), (14, 5), (19, 1)]
    assert [row["output"] for row in rows] == ["a\nb\nc\nd", "e\nf\ng\nh\ni", "j"]
    # Lines of one read share one time, written once with its count.
    assert [row["times"] for row in rows] == ["0*2,7000*2", "0,0*4", "0"]
    assert [row["started"] for row in rows] == [started, later, later]


def test_times_read_both_the_counted_and_the_one_per_line_forms():
    assert line_offsets("0*3,250,9*2", 6) == [0, 0, 0, 250, 9, 9]
    assert line_offsets("0,5,5", 3) == [0, 5, 5]  # as rows written before issue 17
    assert line_offsets("", 2) == [0, 0]
    assert line_offsets("4", 3) == [4, 0, 0]


def test_the_writer_stops_waiting_when_the_run_ends(app):
    template = factories.template()
    task = Task(template_id=template.id, project_id=template.project_id, status="running")
    db.session.add(task)
    db.session.commit()
    writer = OutputWriter(task.id)
    writer.flush()  # nothing buffered, the last flush just now: the next wait is a full one
    waited = threading.Event()

    def wait() -> None:
        writer.wait(timeout=60)
        waited.set()

    thread = threading.Thread(target=wait)
    thread.start()
    writer.wake()
    thread.join(timeout=30)
    assert waited.is_set()
