"""`semaphore worker`: an RQ worker on the task, notification and maintenance queues."""

from __future__ import annotations

import os
import socket

from flask import Flask
from rq import Worker

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime


def run_worker(app: Flask, burst: bool = False) -> None:
    """Work until stopped (or, with burst, until the queues are empty)."""
    runtime.set_app(app)
    # Imported once here, so that each forked work-horse starts with the engine and the
    # notification channels loaded instead of importing them for every job.
    import semaphore.jobs.notifications  # noqa: F401
    import semaphore.jobs.tasks  # noqa: F401

    with app.app_context():
        db.engine.dispose()
    connection = broker.connection()
    queues = [broker.queue(name) for name in broker.ALL_QUEUES]
    worker = Worker(queues, connection=connection, name=f"{socket.gethostname()}.{os.getpid()}")
    worker.work(burst=burst, with_scheduler=True, logging_level=app.config["SEMAPHORE"].log_level)
