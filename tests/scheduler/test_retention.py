"""Task retention (issue 19): the scheduler's pass deletes the finished tasks that
max_tasks_per_template and task_retention_days (global or the project's) no longer keep, with
their output, in batches; waiting and running tasks are never deleted."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from semaphore import scheduler
from semaphore.extensions import db
from semaphore.models import Task, TaskOutputChunk, utcnow
from semaphore.services.tasks import output as task_output
from semaphore.services.tasks import retention
from tests import factories


def _run(template, status: str = "success", ended_ago: timedelta | None = None, **fields) -> int:
    """A task of the template with two output rows; ended `ended_ago` (now) if finished."""
    now = utcnow()
    if status in ("success", "error", "stopped", "rejected"):
        fields.setdefault("end", now - (ended_ago or timedelta()))
    task = factories.task(of=template, status=status, created=now - timedelta(days=30), **fields)
    for first in (1, 3):
        task_output.store_lines(task.id, first, [(now, f"line {first}\nline {first + 1}")])
    db.session.commit()
    return task.id


def _tasks() -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(Task.id)))


def _output_owners() -> set[int]:
    return set(db.session.scalars(select(TaskOutputChunk.task_id).distinct()))


@pytest.mark.parametrize("config_overrides", [{"max_tasks_per_template": 3}])
def test_the_newest_finished_tasks_of_each_template_are_kept(app):
    project = factories.project()
    template = factories.template(project=project)
    # Older than every finished run, and still not deleted.
    waiting = _run(template, "waiting")
    running = _run(template, "running")
    finished = [_run(template, status) for status in ("success", "error", "stopped")]
    finished += [_run(template) for _ in range(2)]
    deploy = _run(factories.template(project=project), build_task_id=finished[0])
    small = factories.template(project=project)
    others = [_run(small) for _ in range(2)]

    assert scheduler.retain(utcnow()) == 2

    kept = {waiting, running, *finished[2:], deploy, *others}
    assert _tasks() == kept
    assert _output_owners() == kept
    assert db.session.get(Task, deploy).build_task_id is None  # its build is gone
    # Two more runs: the next pass keeps the newest three again.
    newer = [_run(template) for _ in range(2)]
    assert scheduler.retain(utcnow()) == 2
    assert _tasks() == {waiting, running, finished[4], *newer, deploy, *others}


@pytest.mark.parametrize("config_overrides", [{"task_retention_days": 1}])
def test_tasks_that_ended_more_than_the_retention_days_ago_are_deleted(app):
    day = timedelta(days=1)
    project = factories.project()
    template = factories.template(project=project)
    old = _run(template, ended_ago=2 * day)
    old_error = _run(template, "error", ended_ago=day + timedelta(minutes=1))
    recent = _run(template, ended_ago=day - timedelta(minutes=1))
    waiting = _run(template, "waiting")
    running = _run(template, "running", start=utcnow() - 5 * day)
    # A project's own setting wins over the global one; 0 keeps everything.
    longer = factories.template(project=factories.project(task_retention_days=3))
    within_three = _run(longer, ended_ago=2 * day)
    beyond_three = _run(longer, ended_ago=4 * day)
    forever = factories.template(project=factories.project(task_retention_days=0))
    ancient = _run(forever, ended_ago=400 * day)

    assert scheduler.retain(utcnow()) == 3

    kept = {recent, waiting, running, within_three, ancient}
    assert _tasks() == kept and _output_owners() == kept
    assert {old, old_error, beyond_three}.isdisjoint(_tasks())


def test_a_projects_retention_days_apply_without_a_global_setting(app):
    day = timedelta(days=1)
    template = factories.template(project=factories.project(task_retention_days=1))
    untouched = factories.template()
    old = _run(template, ended_ago=2 * day)
    recent = _run(template, ended_ago=day / 2)
    other = _run(untouched, ended_ago=300 * day)

    assert retention.run_pass() == 1
    assert old not in _tasks() and {recent, other} <= _tasks()


def test_nothing_is_deleted_when_retention_is_off(app):
    template = factories.template()
    runs = {_run(template, ended_ago=timedelta(days=900)) for _ in range(4)}
    assert retention.run_pass() == 0
    assert _tasks() == runs


@pytest.mark.parametrize("config_overrides", [{"task_retention_days": 1}])
def test_a_pass_over_more_rows_than_a_batch_deletes_them_all_a_batch_at_a_time(app, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    monkeypatch.setattr(retention, "OUTPUT_BATCH", 3)
    template = factories.template()
    old = [_run(template, ended_ago=timedelta(days=2)) for _ in range(5)]
    kept = _run(template)
    task_batches: list[int] = []
    real_delete = retention.delete_tasks
    monkeypatch.setattr(
        retention,
        "delete_tasks",
        lambda ids: task_batches.append(len(ids)) or real_delete(ids),
    )
    output_deletes: list[int] = []
    commits: list[int] = []
    session = db.session()

    def count_output_delete(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("DELETE FROM task__output_chunk"):
            output_deletes.append(cursor.rowcount)

    engine = db.engine
    event.listen(engine, "after_cursor_execute", count_output_delete)
    event.listen(session, "after_commit", count_commit := lambda _session: commits.append(1))
    try:
        assert scheduler.retain(utcnow()) == 5
    finally:
        event.remove(engine, "after_cursor_execute", count_output_delete)
        event.remove(session, "after_commit", count_commit)

    assert task_batches == [2, 2, 1]
    # Ten output rows, at most three per statement (the rule's own delete finds none left).
    assert max(output_deletes) == 3 and sum(output_deletes) == 10
    assert len(commits) >= 3 + 4
    assert _tasks() == {kept} and _output_owners() == {kept}
    assert set(old).isdisjoint(_tasks())


def test_a_failed_pass_is_logged_and_the_scheduler_goes_on(app, monkeypatch, caplog):
    def broken(now=None):
        raise RuntimeError("database gone")

    monkeypatch.setattr(retention, "run_pass", broken)
    assert scheduler.retain(utcnow()) == 0
    assert "task retention failed" in caplog.text


def test_a_scheduler_process_runs_a_pass_when_it_starts(app, processes):
    template = factories.template()
    runs = [_run(template) for _ in range(4)]
    processes.scheduler(SEMAPHORE_MAX_TASKS_PER_TEMPLATE="1")
    deadline = time.monotonic() + 60
    while _tasks() != {runs[-1]}:
        assert time.monotonic() < deadline, "no retention pass within 60 s"
        time.sleep(0.2)
    assert _output_owners() == {runs[-1]}
