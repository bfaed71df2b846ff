"""`semaphore scheduler`: the Procfile's third process.

Every second (just after each whole second) it starts the schedules due since the previous
tick (services.schedule_runner) and, in a thread of its own, recovers the task queue (lost
wake-ups, tasks of dead workers); a third thread deletes the finished tasks the retention
settings no longer keep (and the audit events older than audit_retention_days), once a
minute. Repository checks (`git ls-remote`) run in check
threads with a short timeout, so one silent git host delays neither other schedules nor
recovery.
Any number of schedulers may run: each step is idempotent, and each
schedule's fire time is claimed in Redis by one of them.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime

from flask import Flask

from semaphore.config import current_config
from semaphore.extensions import db
from semaphore.models import AccessKey, Repository, utcnow
from semaphore.queue import heartbeats
from semaphore.scheduler.recovery import Recovery
from semaphore.scheduler.runner import ScheduleRunner
from semaphore.services import audit
from semaphore.services.tasks import retention

log = logging.getLogger(__name__)

# Ticks land this long after each whole second, so a schedule due at hh:mm:00 starts by then.
TICK_OFFSET_SECONDS = 0.05


def run_scheduler(app: Flask, now: Callable[[], datetime] = utcnow) -> None:
    """Loop until SIGTERM or SIGINT, once a second; recovery runs in a thread of its own."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    app.logger.info("scheduler started")
    recovering = threading.Thread(
        target=_recover_until, args=(app, stop, now), name="recovery", daemon=True
    )
    recovering.start()
    retaining = threading.Thread(
        target=_retain_until, args=(app, stop, now), name="retention", daemon=True
    )
    retaining.start()
    runner = ScheduleRunner(remote_head=repository_head)
    while not stop.wait(seconds_to_next_tick(now())):
        with app.app_context():
            start_schedules(runner, now())
    recovering.join(timeout=10)
    retaining.join(timeout=10)
    app.logger.info("scheduler stopped")


def _recover_until(app: Flask, stop: threading.Event, now: Callable[[], datetime]) -> None:
    """Recovery's own loop: a slow schedule never delays it, nor it the schedules."""
    recovery = Recovery()
    while not stop.wait(seconds_to_next_tick(now())):
        with app.app_context():
            recover(recovery)
            db.session.remove()


def _retain_until(app: Flask, stop: threading.Event, now: Callable[[], datetime]) -> None:
    """Task retention's own loop: a pass at start, then every retention.PASS_SECONDS."""
    while True:
        with app.app_context():
            retain(now())
            retain_audit(now())
            db.session.remove()
        if stop.wait(retention.PASS_SECONDS):
            return


def retain(moment: datetime) -> int:
    """One retention pass; its failure is logged, never raised (the next pass tries again)."""
    return _logged_pass("task retention", retention.run_pass, moment)


def retain_audit(moment: datetime) -> int:
    """One pass of the audit trail's retention (audit_retention_days); logged, never raised."""
    return _logged_pass("audit retention", audit.delete_expired, moment)


def _logged_pass(name: str, run: Callable[[datetime], int], moment: datetime) -> int:
    try:
        return run(moment)
    except Exception:
        log.exception("%s failed", name)
        db.session.rollback()
        return 0


def seconds_to_next_tick(moment: datetime) -> float:
    """How long to sleep until just after the next whole second."""
    delay = (1.0 + TICK_OFFSET_SECONDS - moment.timestamp() % 1.0) % 1.0
    return delay if delay > 0.005 else delay + 1.0  # just ticked: the next second's


def recover(recovery: Recovery) -> None:
    """One recovery pass; its failure is logged, never raised (the loop tries again)."""
    try:
        recovery.recover()
    except Exception:
        log.exception("task recovery failed")
        db.session.rollback()


def start_schedules(runner: ScheduleRunner, moment: datetime) -> list[int]:
    """Start the schedules due at this moment; a failure is logged, never raised."""
    try:
        started = runner.tick(moment)
    except Exception:
        log.exception("schedule evaluation failed")
        db.session.rollback()
        return []
    # Only a tick that went through counts as a sign of life (GET /metrics).
    heartbeats.scheduler_ticked()
    return started


def tick(recovery: Recovery, runner: ScheduleRunner, moment: datetime) -> list[int]:
    """One pass of both, in this thread (tests and single-shot callers)."""
    recover(recovery)
    return start_schedules(runner, moment)


def repository_head(repository: Repository) -> Callable[[], str]:
    """The `git ls-remote` of a repository-bound schedule's repository, with its key, ready to
    run in a check thread (the key is read here, in the tick)."""
    # Imported by the first repository-bound schedule: a scheduler without one never loads the
    # engine, nor the cryptography its ssh-agent and the keys' decryption use (issue 17).
    from semaphore.engine.ls_remote import remote_head
    from semaphore.engine.spec import Credential, EngineSettings, RepositorySpec
    from semaphore.services import keys

    key = db.session.get(AccessKey, repository.ssh_key_id) if repository.ssh_key_id else None
    credential = None
    if key is not None:
        credential = Credential(id=key.id, **dataclasses.asdict(keys.read_secret(key)))
    spec = RepositorySpec(
        id=repository.id,
        url=repository.git_url,
        branch=repository.git_branch or "",
        credential=credential,
    )
    settings = EngineSettings.from_config(current_config())
    return lambda: remote_head(spec, settings)
