"""Starting scheduled runs: each tick, every schedule due since the last tick starts its template
once, however many scheduler processes run.

The original keeps its schedules in an in-memory robfig/cron instance, rebuilt whenever one
changes (services/schedules/SchedulePool.go). Here every tick reads the schedules again, so an
edit, a switch-off or a deletion made by any web process counts from the next tick, and no
process has to be told.

Rules, as the original's unless marked:
* Active schedules are evaluated; so are **inactive ones bound to a repository**. A schedule
  with a repository fires only when `git ls-remote` shows a commit other than the one it last
  saw (the first check always fires), and remembers it in `last_commit_hash`.
* A `run_at` schedule fires once at its time and is then switched off. One whose time passed
  while no scheduler ran is switched off without firing.
* A schedule that fires while its template's previous run is still going queues a new task
  anyway: the queue holds it until that run ends (one template never runs twice at once).
* Ours: each fire time is claimed with a Redis `SET NX EX` on (schedule, fire time); only the
  process that wins starts the task, so two schedulers start it exactly once.
* Ours: no backlog after downtime. A tick covers the time since the previous tick, at most
  CATCH_UP: a fire time missed by less than that (a restart, a slow tick) still fires, once;
  older ones are skipped. Several fire times inside one tick (`@every 1s` after a pause) start
  one run.
* Ours: `@every <d>` fires on a grid counted from the Unix epoch (every multiple of d), so all
  schedulers agree on the fire times; the original counts from when it loaded the schedules.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, tzinfo
from typing import Any

import redis
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from semaphore import broker
from semaphore.errors import SemaphoreError
from semaphore.extensions import db
from semaphore.models import Repository, Schedule, Template
from semaphore.services import schedules, tasks
from semaphore.services.schedules import cron
from semaphore.services.tasks.params import run_values

log = logging.getLogger(__name__)

CATCH_UP = timedelta(seconds=60)
# A claim outlives every window that can contain its fire time (CATCH_UP, plus clock skew
# between scheduler machines).
CLAIM_SECONDS = 600

# (repository) -> a check to run in another thread: it answers the commit the repository's
# branch is at on the remote, or raises when git fails. Preparing it (reading the key) happens
# in the tick; the check itself needs no database.
RemoteHead = Callable[[Repository], Callable[[], str]]
# Repository checks run at once, so that a few silent git hosts cannot hold up the others.
CHECK_THREADS = 4


class RemoteChecks:
    """`git ls-remote` of repository-bound schedules, in threads of their own.

    A slow or silent git host delays only its own schedule: the tick hands the check over and
    goes on, and a later tick starts the run when the check shows a new commit. A schedule has
    at most one check in flight; a fire time that comes while it runs is skipped.
    """

    def __init__(self, threads: int = CHECK_THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="ls-remote")
        self._pending: dict[int, tuple[Future[str], datetime]] = {}

    def busy(self, schedule_id: int) -> bool:
        return schedule_id in self._pending

    def submit(self, schedule_id: int, fire: datetime, check: Callable[[], str]) -> None:
        self._pending[schedule_id] = (self._pool.submit(check), fire)

    def finished(self) -> list[tuple[int, datetime, Future[str]]]:
        """The checks that have ended since the last call (each once)."""
        done = [(sid, fire, f) for sid, (f, fire) in self._pending.items() if f.done()]
        for schedule_id, _, _ in done:
            del self._pending[schedule_id]
        return done

    def wait(self, timeout: float = 60) -> None:
        """Block until every check in flight has ended (tests, and a scheduler stopping)."""
        futures_wait([future for future, _ in self._pending.values()], timeout=timeout)


@dataclass(frozen=True)
class _Planned:
    """The columns of a schedule a tick needs, read once (commits expire ORM objects)."""

    id: int
    project_id: int
    template_id: int
    type: str
    cron_format: str
    run_at: datetime | None
    active: bool
    repository_id: int | None
    last_commit_hash: str | None
    task_params: dict | None

    @classmethod
    def of(cls, schedule: Schedule) -> _Planned:
        return cls(**{f.name: getattr(schedule, f.name) for f in fields(cls)})


def _minute(moment: datetime) -> int:
    return math.floor(moment.timestamp() / 60)


def claim_key(schedule_id: int, fire: datetime) -> str:
    return broker.key("schedule", schedule_id, "fire", int(fire.timestamp()))


class ScheduleRunner:
    """One scheduler's view of time: the end of the last tick it evaluated.

    `remote_head` answers `git ls-remote` for repository-bound schedules (the scheduler process
    passes the engine's); without it such schedules never fire. `zone` is the zone cron fields
    without CRON_TZ are read in (by default the `schedule.timezone` setting's).
    """

    def __init__(self, *, remote_head: RemoteHead | None = None, zone: tzinfo | None = None):
        self.remote_head = remote_head
        self.zone = zone
        self.checks = RemoteChecks()
        self._since: datetime | None = None
        self._reported: set[tuple[int, str]] = set()

    def tick(self, moment: datetime) -> list[int]:
        """Start every schedule due in (previous tick, moment]; the ids of the tasks started.

        When the database or Redis fails, nothing more is started in this tick and the next
        tick covers the same time again (the claims keep what did start from starting twice).
        """
        moment = cron.aware(moment)
        since = moment - CATCH_UP
        if self._since is not None:
            since = max(since, self._since)
        try:
            started = self._start_checked()
            if moment <= since:
                return started  # the clock went back: wait until it passes the last tick again
            started += self._evaluate(since, moment)
        except (SQLAlchemyError, redis.RedisError) as exc:
            db.session.rollback()
            log.warning("schedules not evaluated (will retry): %s", exc)
            return []
        self._since = moment
        return started

    # --- one tick -------------------------------------------------------------------------------

    def _evaluate(self, since: datetime, moment: datetime) -> list[int]:
        query = (
            select(Schedule)
            .where(or_(Schedule.active.is_(True), Schedule.repository_id.is_not(None)))
            .order_by(Schedule.id)
        )
        planned = [_Planned.of(schedule) for schedule in db.session.scalars(query)]
        db.session.rollback()  # end the read: each start below is its own transaction
        started = []
        for schedule in planned:
            try:
                task_id = self._evaluate_one(schedule, since, moment)
            except (SQLAlchemyError, redis.RedisError):
                raise
            except Exception:  # one broken schedule never stops the others
                db.session.rollback()
                log.exception("schedule %s could not be evaluated", schedule.id)
                continue
            if task_id is not None:
                started.append(task_id)
        return started

    def _evaluate_one(self, schedule: _Planned, since: datetime, moment: datetime) -> int | None:
        fire = self._due(schedule, since, moment)
        task_id = self._fire(schedule, fire) if fire is not None else None
        if schedule.type == "run_at" and schedule.active and schedule.run_at is not None:
            if cron.aware(schedule.run_at) <= moment:
                _switch_off(schedule.id)
        return task_id

    def _due(self, schedule: _Planned, since: datetime, moment: datetime) -> datetime | None:
        if schedule.type == "run_at":
            return cron.latest_fire(schedule, since, moment)
        if schedule.type != "":
            self._report(schedule, f"has an unsupported type {schedule.type!r}")
            return None
        if not schedule.cron_format:
            return None  # as the original: a cron schedule without an expression never fires
        try:
            spec = cron.parse_cron(schedule.cron_format)
        except ValueError as exc:
            self._report(schedule, f"has an invalid cron expression: {exc}")
            return None
        if spec.cron is not None and _minute(since) == _minute(moment):
            return None  # cron fields fire on whole minutes: most ticks need no croniter
        return cron.latest_fire(schedule, since, moment, zone=self.zone)

    def _fire(self, schedule: _Planned, fire: datetime) -> int | None:
        """Start the schedule's task for this fire time unless another scheduler did."""
        key = claim_key(schedule.id, fire)
        if not broker.connection().set(key, 1, nx=True, ex=CLAIM_SECONDS):
            return None
        try:
            if schedule.repository_id is not None:
                self._check_repository(schedule, fire)
                return None  # a later tick starts it, if the check shows a new commit
            return self._start(schedule, fire)
        except (SQLAlchemyError, redis.RedisError):
            # Nothing started: let the retry of this tick (here or elsewhere) claim it again.
            db.session.rollback()
            _release(key)
            raise

    def _check_repository(self, schedule: _Planned, fire: datetime) -> None:
        """Hand the schedule's `git ls-remote` to a check thread (one at a time per schedule)."""
        if self.checks.busy(schedule.id):
            log.info("schedule %s: the previous repository check still runs", schedule.id)
            return
        repository = db.session.get(Repository, schedule.repository_id)
        if repository is None or self.remote_head is None:
            why = "is gone" if repository is None else "cannot be checked by this process"
            self._report(schedule, f"is bound to a repository that {why}")
            db.session.rollback()
            return
        try:
            check = self.remote_head(repository)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # noqa: BLE001 - a key that cannot be read: skip this fire
            log.warning("schedule %s: repository check not started: %s", schedule.id, exc)
            db.session.rollback()
            return
        db.session.rollback()
        self.checks.submit(schedule.id, fire, check)

    def _start_checked(self) -> list[int]:
        """Start the runs whose repository check ended and found a commit not seen before."""
        started = []
        for schedule_id, fire, check in self.checks.finished():
            try:
                head = check.result()
            except Exception as exc:  # noqa: BLE001 - git, ssh, a refused key: skip this fire
                log.warning("schedule %s: git ls-remote failed: %s", schedule_id, exc)
                continue
            moved = db.session.execute(
                update(Schedule)
                .where(Schedule.id == schedule_id)
                .where(or_(Schedule.last_commit_hash.is_(None), Schedule.last_commit_hash != head))
                .values(last_commit_hash=head)
            ).rowcount
            schedule = db.session.get(Schedule, schedule_id) if moved else None
            planned = _Planned.of(schedule) if schedule is not None else None
            db.session.commit()
            if planned is not None:
                task_id = self._start(planned, fire)
                if task_id is not None:
                    started.append(task_id)
        return started

    def _start(self, schedule: _Planned, fire: datetime) -> int | None:
        template = db.session.get(Template, schedule.template_id)
        if template is None:
            db.session.rollback()
            return None
        try:
            task = tasks.start_automated_task(
                template, schedule_id=schedule.id, **_task_values(schedule)
            )
        except SemaphoreError as exc:
            db.session.rollback()
            self._report(schedule, f"cannot start its template: {exc}")
            return None
        log.info("schedule %s started task %s (due %s)", schedule.id, task.id, fire.isoformat())
        return task.id

    def _report(self, schedule: _Planned, problem: str) -> None:
        """Log a schedule's problem once per process, not once a second."""
        mark = (schedule.id, problem)
        if mark not in self._reported:
            self._reported.add(mark)
            log.error("schedule %s (project %s) %s", schedule.id, schedule.project_id, problem)


def _task_values(schedule: _Planned) -> dict[str, Any]:
    """The run values of the schedule's task_params."""
    return run_values(schedules.task_params(schedule))


def _switch_off(schedule_id: int) -> None:
    """A one-off schedule whose time has come stops being active (as the original, no event)."""
    db.session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.active.is_(True))
        .values(active=False)
    )
    db.session.commit()


def _release(key: str) -> None:
    try:
        broker.connection().delete(key)
    except redis.RedisError:
        pass  # the claim expires on its own
