"""`semaphore scheduler`: the Procfile's third process.

Every tick it recovers the task queue (lost wake-ups, tasks of dead workers); evaluating cron
schedules is issue #7's work. Any number of schedulers may run: each step is idempotent.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import datetime

from flask import Flask

from semaphore.models import utcnow
from semaphore.services.task_recovery import Recovery

TICK_SECONDS = 1.0


def run_scheduler(app: Flask, now: Callable[[], datetime] = utcnow) -> None:
    """Loop until SIGTERM or SIGINT, once a tick."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    app.logger.info("scheduler started")
    recovery = Recovery()
    while not stop.wait(TICK_SECONDS):
        with app.app_context():
            recovery.recover()
            tick(now())
    app.logger.info("scheduler stopped")


def tick(moment: datetime) -> None:
    """One pass over the schedules due at this moment (cron evaluation: issue #7)."""
