"""The scheduler starts schedules on time, once, with an injected clock: no test waits."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy import select, update

from semaphore import broker, scheduler
from semaphore.errors import ServiceUnavailable
from semaphore.extensions import db
from semaphore.models import Schedule, Task
from semaphore.queue import dispatch as task_queue
from semaphore.scheduler import recovery as task_recovery
from semaphore.scheduler import runner as schedule_runner
from semaphore.scheduler.runner import ScheduleRunner
from semaphore.services import tasks
from semaphore.services.schedules.cron import latest_fire, next_fire
from tests import factories
from tests.processes import process_env


def at(hour: int, minute: int, second: float = 0.0) -> datetime:
    """A moment on 2024-01-01 (a Monday), UTC."""
    whole = int(second)
    return datetime(2024, 1, 1, hour, minute, whole, round((second - whole) * 1e6), tzinfo=UTC)


def runner(**options) -> ScheduleRunner:
    return ScheduleRunner(zone=UTC, **options)


def task_count(schedule_id: int | None = None) -> int:
    query = select(Task)
    if schedule_id is not None:
        query = query.where(Task.schedule_id == schedule_id)
    return len(db.session.scalars(query).all())


@pytest.fixture
def every_minute(app) -> Schedule:
    return factories.schedule(cron_format="* * * * *", active=True)


# --- on time, exactly once -----------------------------------------------------------------------


def test_every_minute_starts_one_task_per_minute(every_minute):
    clock = runner()
    started = [
        clock.tick(moment)
        for moment in (
            at(10, 0, 30),  # first tick: the 10:00 run, missed 30 s ago, is caught up
            at(10, 0, 45),
            at(10, 1, 0.2),
            at(10, 1, 1.2),
            at(10, 1, 30),
            at(10, 2, 0.1),
            at(10, 2, 59.9),
        )
    ]
    assert [len(ids) for ids in started] == [1, 0, 1, 0, 0, 1, 0]
    assert task_count(every_minute.id) == 3
    task = db.session.get(Task, started[2][0])
    assert (task.template_id, task.schedule_id, task.user_id) == (
        every_minute.template_id,
        every_minute.id,
        None,
    )
    assert task.status == "waiting"


def test_two_schedulers_start_one_task_per_minute(every_minute):
    first, second = runner(), runner()
    for minute in range(1, 6):
        # Each scheduler's clock and tick phase differ a little, as on two machines.
        first.tick(at(10, minute - 1, 59.95))
        second.tick(at(10, minute - 1, 59.99))
        first.tick(at(10, minute, 0.05))
        second.tick(at(10, minute, 0.3))
        first.tick(at(10, minute, 1.05))
        second.tick(at(10, minute, 1.3))
        assert task_count(every_minute.id) == minute + 1  # + the 10:00 catch-up


def test_two_schedulers_ticking_at_the_same_instant_in_threads(app, every_minute):
    moments = [at(10, minute, 0.1) for minute in range(1, 6)]
    barrier = threading.Barrier(2)
    results: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def scheduler_process(name: str) -> None:
        clock = runner()
        try:
            with app.app_context():
                results[name] += clock.tick(at(10, 0, 59))
                for moment in moments:
                    barrier.wait(timeout=30)
                    results[name] += clock.tick(moment)
                db.session.remove()
        except BaseException as exc:  # reported to the test's thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=scheduler_process, args=(n,)) for n in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results["a"]) + len(results["b"]) == len(moments) + 1  # + the 10:00 catch-up
    db.session.expire_all()
    assert task_count(every_minute.id) == len(moments) + 1


def test_no_backlog_after_downtime(every_minute):
    clock = runner()
    clock.tick(at(10, 0, 0.1))
    assert len(clock.tick(at(10, 10, 0.5))) == 1  # 10:01 … 10:09 are not made up for
    assert task_count() == 2


def test_a_late_tick_still_fires_a_minute_missed_within_the_catch_up():
    schedule = Schedule(type="", cron_format="*/5 * * * *")
    assert latest_fire(schedule, at(10, 4, 59), at(10, 5, 40), zone=UTC) is not None
    assert latest_fire(schedule, at(10, 5, 1), at(10, 9, 59), zone=UTC) is None


def test_a_restarted_scheduler_does_not_start_what_another_started(every_minute):
    running = runner()
    running.tick(at(10, 0, 59))
    assert len(running.tick(at(10, 1, 0.1))) == 1
    restarted = runner()  # a fresh process: its first tick looks back CATCH_UP
    assert restarted.tick(at(10, 1, 20)) == []
    assert task_count() == 2  # 10:00 (caught up by the first tick) and 10:01


# --- changes take effect without a restart -------------------------------------------------------


def test_a_switched_off_schedule_stops_at_the_next_tick(every_minute):
    clock = runner()
    clock.tick(at(10, 0, 59))
    assert len(clock.tick(at(10, 1, 0.1))) == 1
    db.session.execute(update(Schedule).values(active=False))
    db.session.commit()
    assert clock.tick(at(10, 2, 0.1)) == []
    db.session.execute(update(Schedule).values(active=True))
    db.session.commit()
    assert len(clock.tick(at(10, 3, 0.1))) == 1


def test_an_edited_cron_takes_effect_at_the_next_tick(app):
    schedule = factories.schedule(cron_format="0 * * * *", active=True)
    clock = runner()
    clock.tick(at(10, 0, 59))
    assert clock.tick(at(10, 1, 0.1)) == []
    schedule.cron_format = "*/2 * * * *"
    db.session.commit()
    assert len(clock.tick(at(10, 2, 0.1))) == 1
    assert clock.tick(at(10, 3, 0.1)) == []


def test_a_deleted_schedule_never_fires(every_minute):
    clock = runner()
    clock.tick(at(10, 0, 59))
    db.session.delete(every_minute)
    db.session.commit()
    assert clock.tick(at(10, 1, 0.1)) == []


def test_an_invalid_stored_cron_is_logged_once_and_skipped(app, caplog):
    broken = factories.schedule(cron_format="every night", active=True)
    good = factories.schedule(cron_format="* * * * *", active=True)
    clock = runner()
    caplog.set_level(logging.ERROR, logger=schedule_runner.__name__)
    clock.tick(at(10, 0, 59))
    started = [clock.tick(at(10, minute, 0.1)) for minute in (1, 2)]
    assert [len(ids) for ids in started] == [1, 1]
    assert task_count(good.id) == 3 and task_count(broken.id) == 0
    problems = [r.getMessage() for r in caplog.records if "invalid cron" in r.getMessage()]
    assert len(problems) == 1 and f"schedule {broken.id}" in problems[0]


def test_an_empty_cron_never_fires(app):
    factories.schedule(cron_format="", active=True)
    assert runner().tick(at(10, 0, 30)) == []


def test_inactive_schedules_without_a_repository_never_fire(app):
    factories.schedule(cron_format="* * * * *", active=False)
    clock = runner()
    assert clock.tick(at(10, 0, 30)) == [] and clock.tick(at(10, 1, 0.1)) == []


# --- failures never stop the loop ----------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"redis_url": "redis://127.0.0.1:9/0"}])
def test_redis_down_logs_and_the_loop_goes_on(every_minute, caplog):
    caplog.set_level(logging.WARNING)
    clock = runner()
    assert clock.tick(at(10, 0, 30)) == []
    assert scheduler.tick(task_recovery.Recovery(), clock, at(10, 1, 0.1)) == []
    assert task_count() == 0
    assert any("will retry" in r.getMessage() for r in caplog.records)


def test_a_tick_that_failed_on_redis_is_covered_by_the_next(every_minute, monkeypatch):
    clock = runner()
    clock.tick(at(10, 0, 59))
    working = broker.connection

    def down():
        raise redis.ConnectionError("Redis is restarting")

    monkeypatch.setattr(broker, "connection", down)
    assert clock.tick(at(10, 1, 0.1)) == []
    monkeypatch.setattr(broker, "connection", working)
    assert len(clock.tick(at(10, 1, 2))) == 1  # the 10:01 run, one tick late
    assert task_count() == 2


def test_a_task_stored_while_its_wake_up_failed_counts_as_started(every_minute, monkeypatch):
    """Redis refusing the wake-up after the task is stored: it is started, once."""
    clock = runner()
    clock.tick(at(10, 0, 59))

    def unreachable(task_id):
        raise ServiceUnavailable("the task queue (Redis) is unreachable")

    monkeypatch.setattr(task_queue, "enqueue_task", unreachable)
    (task_id,) = clock.tick(at(10, 1, 0.1))
    assert db.session.get(Task, task_id).status == "waiting"  # the recovery pass queues it
    assert clock.tick(at(10, 1, 1.1)) == [] and task_count() == 2


def test_a_schedule_whose_template_cannot_start_does_not_stop_the_others(app, caplog):
    caplog.set_level(logging.ERROR)
    bad = factories.schedule(
        cron_format="* * * * *", active=True, task_params={"params": {"limit": 5}}
    )
    good = factories.schedule(cron_format="* * * * *", active=True)
    clock = runner()
    clock.tick(at(10, 0, 59))
    assert len(clock.tick(at(10, 1, 0.1))) == 1
    assert task_count(good.id) == 2 and task_count(bad.id) == 0
    assert any(f"schedule {bad.id}" in r.getMessage() for r in caplog.records)


# --- the task it starts --------------------------------------------------------------------------


def test_the_task_carries_the_schedules_task_params(app):
    params = {
        "environment": json.dumps({"STAGE": "nightly"}),
        "params": {"debug": True},
        "git_branch": "release",
        "message": "nightly run",
        "arguments": json.dumps(["--fast"]),
    }
    schedule = factories.schedule(cron_format="* * * * *", active=True, task_params=params)
    clock = runner()
    clock.tick(at(10, 0, 59))
    (task_id,) = clock.tick(at(10, 1, 0.1))
    task = db.session.get(Task, task_id)
    assert task.schedule_id == schedule.id
    assert json.loads(task.environment) == {"STAGE": "nightly"}
    assert task.params == {"debug": True}
    assert (task.git_branch, task.message) == ("release", "nightly run")
    assert json.loads(task.arguments) == ["--fast"]
    # It is handed to the queue once the template's earlier run (the 10:00 one) has ended.
    for earlier in db.session.scalars(select(Task).where(Task.id != task_id)):
        earlier.status = "success"
    db.session.commit()
    task_queue.dispatch_waiting()
    assert broker.connection().exists(task_queue.queued_key(task_id))


def test_a_schedule_firing_while_the_last_run_goes_on_queues_behind_it(every_minute):
    """The original adds the task anyway; its pool holds it while the template runs."""
    clock = runner()
    clock.tick(at(10, 0, 59))
    (first,) = clock.tick(at(10, 1, 0.1))
    assert task_queue.claim(first)  # a worker runs it
    (second,) = clock.tick(at(10, 2, 0.1))
    assert db.session.get(Task, second).status == "waiting"
    assert not task_queue.claim(second)  # one template never runs twice at once
    tasks.change_status(db.session.get(Task, first), "success")
    db.session.commit()
    assert task_queue.claim(second)


# --- one-off schedules ---------------------------------------------------------------------------


def test_a_run_at_schedule_fires_once_then_switches_off(app):
    schedule = factories.schedule(type="run_at", cron_format="", run_at=at(10, 5), active=True)
    clock = runner()
    assert clock.tick(at(10, 4, 59.5)) == []
    assert len(clock.tick(at(10, 5, 0.3))) == 1
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).active is False
    assert clock.tick(at(10, 5, 1.3)) == [] and runner().tick(at(10, 5, 2)) == []
    assert task_count(schedule.id) == 1


def test_a_run_at_missed_while_no_scheduler_ran_is_switched_off_unfired(app):
    schedule = factories.schedule(type="run_at", cron_format="", run_at=at(9, 0), active=True)
    assert runner().tick(at(10, 0, 0.5)) == []
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).active is False
    assert task_count() == 0


def test_a_future_run_at_stays_active(app):
    schedule = factories.schedule(type="run_at", cron_format="", run_at=at(11, 0), active=True)
    assert runner().tick(at(10, 0, 0.5)) == []
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).active is True


# --- repository-bound schedules ------------------------------------------------------------------


def _commit(directory, message: str) -> None:
    (directory / "change.txt").write_text(message)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(directory)]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True)


@pytest.mark.parametrize("active", [True, False])
def test_a_repository_bound_schedule_fires_on_new_commits_only(app, tmp_path, active):
    source = factories.git_repository(tmp_path / "origin", {"site.yml": "- hosts: all\n"})
    project = factories.project()
    repository = factories.repository(
        project=project, git_url=f"file://{source}", git_branch="main"
    )
    schedule = factories.schedule(
        project=project, cron_format="* * * * *", active=active, repository_id=repository.id
    )
    clock = runner(remote_head=scheduler.repository_head)
    # The fire time hands the check to a thread; a later tick starts the run.
    assert clock.tick(at(10, 0, 59)) == []
    clock.checks.wait()
    assert len(clock.tick(at(10, 0, 59.5))) == 1  # the first check always fires
    head = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).last_commit_hash == head
    assert clock.tick(at(10, 1, 0.1)) == []
    clock.checks.wait()
    assert clock.tick(at(10, 1, 0.5)) == []  # nothing new
    _commit(source, "second")
    clock.tick(at(10, 2, 0.1))
    clock.checks.wait()
    assert len(clock.tick(at(10, 2, 0.5))) == 1
    clock.tick(at(10, 3, 0.1))
    clock.checks.wait()
    assert clock.tick(at(10, 3, 0.5)) == []
    assert task_count(schedule.id) == 2


def test_an_unreachable_repository_skips_the_fire(app, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    project = factories.project()
    repository = factories.repository(project=project, git_url=f"file://{tmp_path / 'missing'}")
    factories.schedule(
        project=project, cron_format="* * * * *", active=True, repository_id=repository.id
    )
    clock = runner(remote_head=scheduler.repository_head)
    clock.tick(at(10, 0, 59))
    clock.checks.wait()
    assert clock.tick(at(10, 1, 0.1)) == []
    assert any("ls-remote failed" in r.getMessage() for r in caplog.records)
    assert task_count() == 0


def test_a_silent_git_host_delays_neither_other_schedules_nor_recovery(app, tmp_path):
    """A tarpit: a port that accepts and never answers. Its check runs in a thread, so the
    tick returns at once and the other project's every-second schedule starts on time."""
    import socket
    import threading as threads

    tarpit = socket.socket()
    tarpit.bind(("127.0.0.1", 0))
    tarpit.listen(16)
    held = []
    accepting = threads.Thread(target=lambda: held.append(tarpit.accept()), daemon=True)
    accepting.start()
    port = tarpit.getsockname()[1]
    project = factories.project()
    slow = factories.repository(
        project=project, git_url=f"http://127.0.0.1:{port}/x.git", git_branch="main"
    )
    stuck = factories.schedule(
        project=project, cron_format="@every 1s", active=True, repository_id=slow.id
    )
    other = factories.schedule(cron_format="@every 1s", active=True)
    clock = runner(remote_head=scheduler.repository_head)
    recovery = task_recovery.Recovery()
    for second in range(10, 16):
        started = scheduler.tick(recovery, clock, at(10, 0, second + 0.05))
        # Each tick starts the other schedule's run; the stuck one's check is still in flight.
        assert [db.session.get(Task, t).schedule_id for t in started] == [other.id]
    assert clock.checks.busy(stuck.id)
    assert task_count(stuck.id) == 0 and task_count(other.id) == 6
    tarpit.close()


# --- fire times ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        ("* * * * *", at(10, 0, 30), at(10, 1)),
        ("* * * * *", at(10, 1), at(10, 2)),
        ("@hourly", at(10, 0, 30), at(11, 0)),
        ("@every 90s", at(10, 0, 30), at(10, 1, 30)),  # 2024-01-01 00:00 is a multiple of 90 s
        ("@every 1h", at(10, 20), at(11, 0)),
        ("nonsense", at(10, 0), None),
    ],
)
def test_next_fire(cron, after, expected):
    assert next_fire(Schedule(type="", cron_format=cron), after, zone=UTC) == expected


def test_every_fires_on_the_same_grid_in_every_scheduler():
    schedule = Schedule(type="", cron_format="@every 7s")
    a = next_fire(schedule, at(10, 0, 1))
    b = next_fire(schedule, at(10, 0, 1.5))
    assert a == b and int(a.timestamp()) % 7 == 0


@pytest.mark.parametrize(
    ("second", "expected"), [(0.0, 0.05), (0.5, 0.55), (0.04, 0.01), (0.05, 1.0), (0.99, 0.06)]
)
def test_ticks_land_just_after_each_second(second, expected):
    assert scheduler.seconds_to_next_tick(at(10, 0, second)) == pytest.approx(expected, abs=1e-6)


def test_the_clock_going_back_starts_nothing_twice(every_minute):
    clock = runner()
    clock.tick(at(10, 0, 59))
    assert len(clock.tick(at(10, 1, 0.1))) == 1
    assert clock.tick(at(10, 0, 59.5)) == []
    assert clock.tick(at(10, 1, 0.5)) == []
    assert task_count() == 2


def test_a_moment_without_a_zone_is_utc(every_minute):
    clock = runner()
    clock.tick(datetime(2024, 1, 1, 10, 0, 59))  # noqa: DTZ001
    assert len(clock.tick(datetime(2024, 1, 1, 10, 1, 0, 100000))) == 1  # noqa: DTZ001


# --- the real processes --------------------------------------------------------------------------


def test_two_scheduler_processes_start_each_fire_time_once(app, processes):
    """Two `semaphore scheduler` processes on the real clock, an `@every 1s` schedule."""
    schedule = factories.schedule(cron_format="@every 1s", active=True)
    env = process_env(processes.config)
    for _ in range(2):
        processes._start("scheduler", ["scheduler"], env)
    deadline = time.monotonic() + 30
    while task_count(schedule.id) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
        db.session.rollback()
    processes.stop()
    db.session.rollback()
    created = [task.created for task in db.session.scalars(select(Task))]
    assert len(created) >= 4
    # One task per fire second: two would share a second if both processes had fired.
    assert len({moment.replace(microsecond=0) for moment in created}) == len(created)


@pytest.mark.single_db
def test_a_real_scheduler_with_a_tarpit_repository_keeps_time_and_recovers(app, processes):
    """A `semaphore scheduler` process, a repository schedule whose git host accepts and never
    answers, another project's every-second schedule, and a task whose worker is gone."""
    import socket
    import threading as threads

    tarpit = socket.socket()
    tarpit.bind(("127.0.0.1", 0))
    tarpit.listen(64)
    held = []

    def accept_forever() -> None:
        try:
            while True:
                held.append(tarpit.accept())
        except OSError:
            pass  # closed at the end of the test

    threads.Thread(target=accept_forever, daemon=True).start()
    port = tarpit.getsockname()[1]
    stuck_project = factories.project()
    slow = factories.repository(
        project=stuck_project, git_url=f"http://127.0.0.1:{port}/x.git", git_branch="main"
    )
    factories.schedule(
        project=stuck_project, cron_format="@every 1s", active=True, repository_id=slow.id
    )
    other = factories.schedule(cron_format="@every 1s", active=True)
    orphan = Task(
        project_id=other.project_id, template_id=other.template_id, status="running"
    )  # no worker renews its liveness key
    db.session.add(orphan)
    db.session.commit()
    processes.scheduler()
    started = time.monotonic()
    deadline = started + 30
    while time.monotonic() < deadline:
        db.session.expire_all()
        if db.session.get(Task, orphan.id).status == "error":
            break
        time.sleep(0.5)
    assert db.session.get(Task, orphan.id).status == "error"
    time.sleep(5)
    elapsed = time.monotonic() - started
    fired = task_count(other.id)
    tarpit.close()
    # About one run a second. Were the tick waiting on the tarpit's 20 s git check, it would
    # be one run per check; a third of the seconds leaves room for a loaded machine.
    assert fired >= elapsed / 3, (fired, elapsed)
