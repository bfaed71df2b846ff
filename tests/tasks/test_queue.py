"""Queueing tasks: one wake-up per task, claims under the limits, recovery after crashes."""

import pytest
from rq import Queue
from sqlalchemy import event, select

from semaphore import broker
from semaphore.extensions import db
from semaphore.models import Task
from semaphore.queue import dispatch as task_queue
from semaphore.scheduler import recovery as task_recovery
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories


@pytest.fixture
def owner(app):
    return factories.user()


@pytest.fixture
def project(owner):
    return factories.project(members={owner: "owner"})


def _start(project, owner, template=None, **fields):
    template = template or factories.template(project=project)
    return tasks.create_task(
        project_access(owner, project.id), {"template_id": template.id, **fields}
    )


def _queued_job_args(app) -> list[tuple]:
    queue = Queue(broker.QUEUE_TASKS, connection=broker.connection())
    return [job.args for job in queue.get_jobs()]


def _job(task: Task) -> tuple[int, int]:
    """A wake-up's arguments: the task, and its project (for the claim's lock)."""
    return (task.id, task.project_id)


def test_a_new_task_waits_with_exactly_one_wake_up(app, project, owner):
    task = _start(project, owner)
    assert task.status == "waiting"
    assert _queued_job_args(app) == [_job(task)]
    assert task_queue.dispatch_waiting() == 0  # already in flight
    assert _queued_job_args(app) == [_job(task)]


def test_api_starts_a_task_and_refuses_bad_input(app, project, owner):
    client = factories.api_client(app, owner)
    template = factories.template(project=project)
    url = f"/api/project/{project.id}/tasks"
    response = client.post(url, json={"template_id": template.id, "debug": True, "limit": "web"})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["status"], body["debug"], body["limit"], body["secret"]) == (
        "waiting",
        True,
        "web",
        "{}",
    )
    foreign = factories.template(project=factories.project())
    for bad in (
        {},
        {"template_id": "1"},
        {"template_id": foreign.id},
        {"template_id": template.id, "environment": "{not json"},
        {"template_id": template.id, "arguments": '{"a": 1}'},
        {"template_id": template.id, "message": "m" * 251},
    ):
        assert client.post(url, json=bad).status_code == 400, bad
    assert db.session.scalars(select(Task.id)).all() == [body["id"]]


def test_guests_cannot_start_tasks(app, project):
    guest = factories.user()
    project = factories.project(members={guest: "guest"})
    template = factories.template(project=project)
    client = factories.api_client(app, guest)
    url = f"/api/project/{project.id}/tasks"
    assert client.post(url, json={"template_id": template.id}).status_code == 403


@pytest.mark.parametrize("config_overrides", [{"redis_url": "redis://127.0.0.1:9/0"}])
def test_redis_down_answers_201_with_the_task_stored_waiting(app, project, owner):
    client = factories.api_client(app, owner)
    template = factories.template(project=project)
    response = client.post(f"/api/project/{project.id}/tasks", json={"template_id": template.id})
    # The database is the truth: a 503 here would make a retrying client run it twice.
    assert response.status_code == 201
    assert response.get_json()["status"] == "waiting"
    assert db.session.scalars(select(Task.status)).all() == ["waiting"]
    # Stopping it needs no Redis either: it is waiting, so it ends at once.
    task_id = response.get_json()["id"]
    stop = client.post(f"/api/project/{project.id}/tasks/{task_id}/stop", json={})
    assert stop.status_code == 204
    assert db.session.scalars(select(Task.status)).all() == ["stopped"]


def test_a_task_is_claimed_once(app, project, owner):
    task = _start(project, owner)
    assert task_queue.claim(task.id) is True
    assert task_queue.claim(task.id) is False
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "starting"


def test_one_template_never_runs_twice_at_once(app, project, owner):
    template = factories.template(project=project)
    first = _start(project, owner, template)
    second = _start(project, owner, template)
    assert task_queue.claim(first.id)
    assert not task_queue.claim(second.id)
    _finish(first.id)
    assert task_queue.claim(second.id)


def test_only_tasks_that_can_start_are_woken_each_once(app, project, owner):
    """No job is sent for a task its limits block: jobs run equal tasks run (issue 17)."""
    template = factories.template(project=project)
    first = _start(project, owner, template)
    second = _start(project, owner, template)  # behind the first, which is in flight
    other = _start(project, owner)
    assert _queued_job_args(app) == [_job(first), _job(other)]
    assert task_queue.dispatch_waiting() == 0
    assert task_queue.claim(first.id)
    assert task_queue.dispatch_waiting() == 0  # the first runs: the second still waits
    _finish(first.id)
    assert task_queue.dispatch_waiting() == 1
    assert task_queue.dispatch_waiting() == 0
    assert _queued_job_args(app)[-1] == _job(second)
    assert _job(first) not in _queued_job_args(app)[2:]


def _redis_calls(command: str) -> int:
    stats = broker.connection().info("commandstats")
    return stats.get(f"cmdstat_{command}", {"calls": 0})["calls"]


def test_a_long_queue_wakes_the_oldest_task_of_each_free_template_and_reads_no_more(
    app, project, owner
):
    templates = [factories.template(project=project) for _ in range(3)]
    queued = [[_start(project, owner, template) for _ in range(20)] for template in templates]
    for tasks_of_template in queued:
        assert task_queue.claim(tasks_of_template[0].id)  # the first of each runs
    _finish(queued[1][0].id)
    _finish(queued[2][0].id)
    statements = []

    def count(*args) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    exists_before = _redis_calls("exists")
    try:
        assert task_queue.dispatch_waiting() == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # Neither the statements nor Redis's look-ups grow with the 57 waiting tasks.
    assert _redis_calls("exists") - exists_before == 2  # the two that may start
    assert len(statements) <= 4
    assert _queued_job_args(app)[-2:] == [_job(queued[1][1]), _job(queued[2][1])]
    assert task_queue.dispatch_waiting() == 0


def test_a_claim_keeps_its_wake_up_in_flight_until_decided(app, project, owner):
    task = _start(project, owner)
    key = task_queue.queued_key(task.id)
    assert broker.connection().exists(key)
    assert task_queue.claim(task.id)
    # Claimed: the marker stays until it lapses, so a dispatch that read the task as waiting
    # a moment before finds it in flight and sends no second job.
    assert broker.connection().exists(key)
    assert task_queue.dispatch_waiting() == 0
    blocked_template = factories.template(project=project)
    running, blocked = (_start(project, owner, blocked_template) for _ in range(2))
    assert task_queue.claim(running.id)
    broker.connection().set(task_queue.queued_key(blocked.id), 1)  # as a lost race would
    assert not task_queue.claim(blocked.id)
    # Decided (blocked): the marker is gone, so the task is woken when the running one ends.
    assert not broker.connection().exists(task_queue.queued_key(blocked.id))
    _finish(running.id)
    assert task_queue.dispatch_waiting() == 1


def test_claims_in_unrelated_projects_do_not_wait_on_each_other(app, project, owner):
    other = factories.project(members={owner: "owner"})
    task = _start(project, owner)
    # Another project's claim holds its lock; the global lock of old is held too, and must
    # not matter (the global limit, 10 by default, takes none).
    held = [
        broker.connection().lock(name, timeout=60)
        for name in (broker.key("dispatch"), broker.key("dispatch", "project", other.id))
    ]
    assert all(lock.acquire(blocking=False) for lock in held)
    try:
        # A shared lock would keep this claim waiting until its 30 s timeout, then fail.
        assert task_queue.claim(task.id)
    finally:
        for lock in held:
            lock.release()


@pytest.mark.parametrize("config_overrides", [{"max_parallel_tasks": 1}])
def test_a_claim_racing_another_projects_past_the_global_limit_steps_back(
    app, project, owner, monkeypatch
):
    first = _start(project, owner)
    other = factories.project(members={owner: "owner"})
    second = _start(other, owner)
    assert task_queue.claim(first.id)
    # The second claim's first count ran before the first one committed (another worker, no
    # shared lock): it passes the check, and its count after its own commit catches it.
    monkeypatch.setattr(task_queue, "blocked_reason", lambda task: None)
    assert not task_queue.claim(second.id)
    db.session.expire_all()
    assert db.session.get(Task, second.id).status == "waiting"
    assert not broker.connection().exists(task_queue.alive_key(second.id))
    monkeypatch.undo()
    _finish(first.id)
    assert task_queue.claim(second.id)


@pytest.mark.parametrize("config_overrides", [{"max_parallel_tasks": 2}])
def test_global_parallel_limit(app, project, owner):
    started = [_start(project, owner) for _ in range(3)]
    assert [task_queue.claim(t.id) for t in started] == [True, True, False]
    _finish(started[0].id)
    assert task_queue.claim(started[2].id)


def test_project_parallel_limit(app, owner):
    project = factories.project(members={owner: "owner"}, max_parallel_tasks=1)
    first, second = _start(project, owner), _start(project, owner)
    other_project = factories.project(members={owner: "owner"})
    assert task_queue.claim(first.id)
    assert not task_queue.claim(second.id)
    assert task_queue.claim(_start(other_project, owner).id)


def test_a_waiting_task_stopped_before_its_worker_never_starts(app, project, owner):
    task = _start(project, owner)
    tasks.stop_task(project_access(owner, project.id), task.id, {})
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "stopped"
    assert task_queue.claim(task.id) is False


def test_lost_wake_ups_are_sent_again(app, project, owner):
    task = _start(project, owner)
    broker.connection().flushdb()  # Redis restarted without its data
    assert _queued_job_args(app) == []
    task_recovery.Recovery().recover()
    assert _queued_job_args(app) == [_job(task)]


def test_a_task_whose_worker_died_ends_in_error(app, project, owner, monkeypatch):
    task = _start(project, owner)
    assert task_queue.claim(task.id)
    task_output.append_line(task.id, "TASK [ping]")
    db.session.commit()
    recovery = task_recovery.Recovery()
    recovery.recover()  # still alive: nothing happens
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "starting"
    broker.connection().delete(task_queue.alive_key(task.id))  # the worker stopped renewing it
    monkeypatch.setattr(task_recovery, "LAPSE_SECONDS", 0.0)
    recovery.recover()
    db.session.expire_all()
    ended = db.session.get(Task, task.id)
    assert ended.status == "error" and ended.end is not None
    lines = [line.output for line in task_output.read_lines(task.id)]
    assert lines == ["TASK [ping]", task_recovery.WORKER_LOST]


def _finish(task_id: int) -> None:
    task = db.session.get(Task, task_id)
    tasks.change_status(task, "success")
    db.session.commit()
