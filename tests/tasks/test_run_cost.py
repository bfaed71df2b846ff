"""What one short task costs the worker in statements and Redis round trips (issue 17): a
budget per task that fails when a change adds a query or a round trip to every run.

The tasks run through `semaphore worker`'s own RQ worker class in this process, as in
production (the claim, the job, the dispatch after it, RQ's bookkeeping), warmed up first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from redis.connection import AbstractConnection
from sqlalchemy import func, select

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import warm_up
from semaphore.jobs.worker import SemaphoreWorker
from semaphore.models import Task
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from tests import factories
from tests.test_list_queries import counting

TASKS = 4
# Per task (25 on 2026-12-06, 31 before): the claim (task, limits, runner tag, UPDATE), the
# output's next number, the run's reads (task, template, user, vaults, repository, key,
# environments, app settings), one or two output batches, two status changes (UPDATE and event
# each; the end reads task and template afresh), the dispatch after the job (its reads).
STATEMENTS_PER_TASK = 26
# RQ's own bookkeeping is most of it: dequeue, job state, registries (25 on 2026-12-06; 43
# before RQ's heartbeats went in one round trip, at most one a job, finished jobs expired
# instead of being deleted, and each commit's counters and messages went in one round trip).
REDIS_CALLS_PER_TASK = 27


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("cost"), {"hi.sh": "echo hi\n"})


class _RoundTrips:
    """Requests sent to Redis by this process (a pipeline is one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        send = AbstractConnection.send_packed_command

        def counted(connection, *args, **kwargs):  # noqa: ANN001, ANN202
            self.count += 1
            return send(connection, *args, **kwargs)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)

    def of(self, work: Callable[[], None]) -> int:
        before = self.count
        work()
        return self.count - before


def _work(app) -> None:
    runtime.set_app(app)
    SemaphoreWorker([broker.queue(broker.QUEUE_TASKS)], connection=broker.connection()).work(
        burst=True
    )


def _work_idle(app) -> None:
    empty = broker.queue("cost-idle")
    runtime.set_app(app)
    SemaphoreWorker([empty], connection=broker.connection()).work(burst=True)


@pytest.mark.parametrize("config_overrides", [{"max_parallel_tasks": 0}])
def test_a_short_task_stays_within_its_statements_and_round_trips(app, script_repo, monkeypatch):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = factories.script_template(project, script_repo, "hi.sh")
    access = project_access(owner, project.id)
    with app.app_context():
        warm_up()
    tasks.create_task(access, {"template_id": template.id})  # clones the checkout
    _work(app)
    for _ in range(TASKS):
        tasks.create_task(access, {"template_id": template.id})
    round_trips = _RoundTrips(monkeypatch)
    idle = round_trips.of(lambda: _work_idle(app))  # a worker's start and end, without jobs
    with counting() as statements:
        calls = round_trips.of(lambda: _work(app)) - idle
    db.session.expire_all()
    done = db.session.scalar(select(func.count()).where(Task.status == "success"))
    assert done == TASKS + 1
    assert len(statements) <= STATEMENTS_PER_TASK * TASKS, "\n".join(statements)
    assert calls <= REDIS_CALLS_PER_TASK * TASKS, calls
