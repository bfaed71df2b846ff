"""Where a short task's CPU goes (issue 17): the same `echo hi` tasks run by RQ's SimpleWorker in
this process (no work-horse forked per job), split into this process's own CPU (claim, job,
output writer, RQ's bookkeeping) and its children's (git, bubblewrap, the janitor, bash).
Compared with `test_task_scaleout.py`'s workers' CPU per task in the same session, the
difference is what forking a work-horse per job costs. SQLite.
"""

from __future__ import annotations

import resource

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import warm_up
from semaphore.models import Task
from tests import factories

pytestmark = pytest.mark.single_db
TASKS = 100


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _drain() -> None:
    SimpleWorker([broker.queue(broker.QUEUE_TASKS)], connection=broker.connection()).work(
        burst=True
    )


def test_cpu_of_a_short_task_without_a_fork(app, tmp_path):
    repo = factories.git_repository(tmp_path / "short", {"hi.sh": "echo hi\n"})
    owner = factories.user()
    project = factories.project(members={owner: "owner"}, max_parallel_tasks=0)
    repository = factories.repository(project=project, git_url=f"file://{repo}", git_branch="main")
    template = factories.template(
        project=project,
        app="bash",
        playbook="hi.sh",
        repository_id=repository.id,
        inventory_id=None,
    )
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
    own, children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    _drain()
    own = (_cpu(resource.RUSAGE_SELF) - own) / TASKS
    children = (_cpu(resource.RUSAGE_CHILDREN) - children) / TASKS
    db.session.expire_all()
    succeeded = db.session.scalar(select(func.count()).where(Task.status == "success"))
    assert succeeded == TASKS + 3
    print(
        f"\nper task without a fork: this process {own * 1000:.1f} ms, its children "
        f"{children * 1000:.1f} ms, in all {(own + children) * 1000:.1f} ms (target <= 60)"
    )
