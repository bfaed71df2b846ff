"""`semaphore scheduler`: the Procfile's third process.

Every tick (just after each whole second) it recovers the task queue (lost wake-ups, tasks of
dead workers) and starts the schedules due since the previous tick
(services.schedule_runner). Any number of schedulers may run: each step is idempotent, and each
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

from semaphore.engine.ls_remote import remote_head
from semaphore.engine.spec import Credential, EngineSettings, RepositorySpec
from semaphore.extensions import db
from semaphore.models import AccessKey, Repository, utcnow
from semaphore.services import keys
from semaphore.services.schedule_runner import ScheduleRunner
from semaphore.services.settings import current_config
from semaphore.services.task_recovery import Recovery

log = logging.getLogger(__name__)

# Ticks land this long after each whole second, so a schedule due at hh:mm:00 starts by then.
TICK_OFFSET_SECONDS = 0.05


def run_scheduler(app: Flask, now: Callable[[], datetime] = utcnow) -> None:
    """Loop until SIGTERM or SIGINT, once a second."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    app.logger.info("scheduler started")
    recovery = Recovery()
    runner = ScheduleRunner(remote_head=repository_head)
    while not stop.wait(seconds_to_next_tick(now())):
        with app.app_context():
            tick(recovery, runner, now())
    app.logger.info("scheduler stopped")


def seconds_to_next_tick(moment: datetime) -> float:
    """How long to sleep until just after the next whole second."""
    delay = (1.0 + TICK_OFFSET_SECONDS - moment.timestamp() % 1.0) % 1.0
    return delay if delay > 0.005 else delay + 1.0  # just ticked: the next second's


def tick(recovery: Recovery, runner: ScheduleRunner, moment: datetime) -> list[int]:
    """One pass: recover the queue, then start the schedules due at this moment.

    Each step's failure is logged, never raised: the loop outlives it and tries again.
    """
    try:
        recovery.recover()
    except Exception:
        log.exception("task recovery failed")
        db.session.rollback()
    try:
        return runner.tick(moment)
    except Exception:
        log.exception("schedule evaluation failed")
        db.session.rollback()
        return []


def repository_head(repository: Repository) -> str:
    """`git ls-remote` of a repository-bound schedule's repository, with its key."""
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
    return remote_head(spec, EngineSettings.from_config(current_config()))
