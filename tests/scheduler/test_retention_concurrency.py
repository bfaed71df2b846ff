"""A retention pass never holds up a running task's writes (issue 19).

A running task writes from another process with its own connection. On PostgreSQL the pass's
open transaction (a batch deleted, not yet committed) locks only the rows it deletes, so the
running task stores output and changes its status in the middle of it, under a lock timeout
that turns any wait into an error. SQLite has one writer at a time: there the running task
writes between the pass's batches, with no busy wait at all, which holds only if every batch
commits before the next one starts.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text, update

from semaphore.extensions import db
from semaphore.models import Task, utcnow
from semaphore.services.tasks import output as task_output
from semaphore.services.tasks import retention
from tests import factories
from tests.scheduler.test_retention import _output_owners, _run, _tasks


def _write_as_the_running_task(app, task_id: int, seq: int, errors: list[BaseException]) -> None:
    """Store a line and touch the task's row from a connection of its own, refusing to wait."""
    with app.app_context():
        session = db.session
        try:
            if db.engine.dialect.name == "postgresql":
                session.execute(text("SET LOCAL lock_timeout = '2s'"))
            else:
                session.execute(text("PRAGMA busy_timeout = 0"))
            task_output.store_lines(task_id, seq, [(utcnow(), f"running line {seq}")], cap=0)
            session.execute(update(Task).where(Task.id == task_id).values(message=f"at {seq}"))
            session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            session.rollback()
            errors.append(exc)
        finally:
            if db.engine.dialect.name == "sqlite":
                session.execute(text("PRAGMA busy_timeout = 5000"))
            session.remove()


@pytest.mark.parametrize("config_overrides", [{"max_tasks_per_template": 2}])
def test_a_running_task_writes_while_a_pass_deletes_its_templates_old_tasks(app, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 3)
    monkeypatch.setattr(retention, "OUTPUT_BATCH", 2)
    template = factories.template()
    old = [_run(template, ended_ago=timedelta(days=9)) for _ in range(7)]
    newest = [_run(template) for _ in range(2)]
    running = factories.task(of=template, status="running")
    db.session.commit()
    running_id = running.id
    dialect = db.engine.dialect.name
    errors: list[BaseException] = []
    writes: list[int] = []
    pass_thread = threading.get_ident()

    def write(seq_source: str) -> None:
        seq = len(writes) + 1
        writes.append(seq)
        writer = threading.Thread(
            target=_write_as_the_running_task, args=(app, running_id, seq, errors)
        )
        writer.start()
        writer.join(30)
        assert not writer.is_alive(), f"the running task's write hung ({seq_source})"

    def mid_transaction(conn, cursor, statement, parameters, context, executemany):
        # Right after each of the pass's deletes, its transaction still open.
        if threading.get_ident() == pass_thread and statement.startswith("DELETE"):
            write("inside a batch")

    def after_commit(_session):
        if threading.get_ident() == pass_thread:
            write("between batches")

    engine = db.engine
    hook = (
        ("after_cursor_execute", engine, mid_transaction)
        if dialect == "postgresql"
        else ("after_commit", db.session(), after_commit)
    )
    name, target, listener = hook
    event.listen(target, name, listener)
    try:
        assert retention.run_pass() == len(old)
    finally:
        event.remove(target, name, listener)

    assert errors == []
    # Several batches of tasks and of output rows, each with a write of the running task.
    assert len(writes) >= 6
    assert _tasks() == {*newest, running_id}
    assert _output_owners() == {*newest, running_id}
    db.session.expire_all()
    stored = [line.output for line in task_output.read_lines(running_id)]
    assert stored == [f"running line {seq}" for seq in writes]
    assert db.session.scalar(select(Task.message).where(Task.id == running_id)) == (
        f"at {writes[-1]}"
    )
