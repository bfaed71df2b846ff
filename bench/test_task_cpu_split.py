"""Where a short task's time goes (issue 17): `echo hi` tasks run one after another by RQ's
SimpleWorker in this process, as `semaphore worker` runs them: this process's own CPU per task
(claim, job, output writer, RQ's bookkeeping), its children's (git, bubblewrap,
bash, and the pid-namespace inits bubblewrap leaves behind, which this process reaps: see
`bench/orphans.py`), and the wall time per task. The wall time beyond the CPU is waiting for
those children to start and end. SQLite.
"""

from __future__ import annotations

import resource
import time

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from bench.orphans import OrphanReaper
from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import warm_up
from semaphore.models import Task
from tests import factories

pytestmark = pytest.mark.single_db
TASKS = int(__import__("os").environ.get("BENCH_TASKS", "100"))


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _drain() -> None:
    SimpleWorker([broker.queue(broker.QUEUE_TASKS)], connection=broker.connection()).work(
        burst=True
    )


def test_where_a_short_tasks_time_goes(app, tmp_path):
    repo = factories.git_repository(tmp_path / "short", {"hi.sh": "echo hi\n"})
    owner = factories.user()
    project = factories.project(members={owner: "owner"}, max_parallel_tasks=0)
    template = factories.script_template(project, repo, "hi.sh")
    client = factories.api_client(app, owner)
    path = f"/api/project/{project.id}/tasks"
    runtime.set_app(app)
    with app.app_context():
        warm_up()
    for _ in range(3):  # the checkout is cloned once, then updated
        client.post(path, json={"template_id": template.id})
    _drain()
    for _ in range(TASKS):
        client.post(path, json={"template_id": template.id})
    with OrphanReaper():
        own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        _drain()
        wall = (time.perf_counter() - began) / TASKS
    own = (_cpu(resource.RUSAGE_SELF) - own) / TASKS
    children = (_cpu(resource.RUSAGE_CHILDREN) - children) / TASKS
    db.session.expire_all()
    succeeded = db.session.scalar(select(func.count()).where(Task.status == "success"))
    assert succeeded == TASKS + 3
    print(
        f"\nper task: CPU of this process {own * 1000:.1f} ms, of its children "
        f"{children * 1000:.1f} ms, in all {(own + children) * 1000:.1f} ms (target <= 60); "
        f"wall {wall * 1000:.1f} ms"
    )
