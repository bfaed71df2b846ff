"""`semaphore worker`: an RQ worker on the task, notification and maintenance queues.

It never exits because Redis (or the database) went away. RQ's work loop ends on a lost
connection ("unhandled exception, quitting"); ours waits for the running task's work-horse, if
any, to finish its run (the run itself needs only the database), then starts a new RQ worker
once Redis answers again, with a growing pause between tries. Only a stop request (SIGTERM,
SIGINT) or burst mode ends it.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import threading

import redis
from flask import Flask
from rq import Worker

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime

log = logging.getLogger(__name__)

# Pauses between tries while Redis is away: 1 s, doubling, at most 15 s.
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 15.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class SemaphoreWorker(Worker):
    """RQ's worker, remembering whether its loop ended because it was asked to stop."""

    stop_asked = False

    def request_stop(self, signum, frame) -> None:  # noqa: ANN001 - RQ's signal handler
        SemaphoreWorker.stop_asked = True
        try:
            super().request_stop(signum, frame)
        except redis.RedisError:
            # RQ asks Redis whether a job runs; without an answer, stop after the current one.
            self._stop_requested = True


def run_worker(app: Flask, burst: bool = False) -> None:
    """Work until stopped (or, with burst, until the queues are empty)."""
    runtime.set_app(app)
    # Imported once here, so that each forked work-horse starts with the engine and the
    # notification channels loaded instead of importing them for every job.
    import semaphore.jobs.notifications  # noqa: F401
    from semaphore.jobs.tasks import warm_up

    with app.app_context():
        warm_up()
        # The horses open connections of their own; the compiled statements stay with the
        # engine (SQLAlchemy: dispose after fork).
        db.engine.dispose()
    from semaphore.engine.workspace import sweep

    # Before any job: the files (secrets, agent sockets, workspaces) of runs killed on this host.
    sweep(app.config["SEMAPHORE"].tmp_path)
    level = app.config["SEMAPHORE"].log_level
    pause = FIRST_RETRY_SECONDS
    for incarnation in itertools.count(1):
        worker = None
        # A name of its own each time: the last one's registration may outlive its loop.
        name = f"{socket.gethostname()}.{os.getpid()}.{incarnation}"
        try:
            queues = [broker.queue(queue) for queue in broker.ALL_QUEUES]
            worker = SemaphoreWorker(queues, connection=broker.connection(), name=name)
            worker.work(burst=burst, logging_level=level)
        except redis.RedisError as exc:
            log.warning("worker: Redis is unreachable (%s)", exc)
        except Exception:  # noqa: BLE001 - whatever RQ raises, the worker starts again
            log.exception("worker: the work loop failed")
        if burst or SemaphoreWorker.stop_asked:
            return
        _wait_for_horse(worker)
        if SemaphoreWorker.stop_asked or not _pause(pause):
            return
        pause = min(pause * 2, MAX_RETRY_SECONDS)
        if _redis_answers():
            pause = FIRST_RETRY_SECONDS
            log.info("worker: Redis answers again, working on")


def _wait_for_horse(worker: Worker | None) -> None:
    """Let a task that was running when the connection dropped finish its run.

    A first SIGTERM/SIGINT meanwhile means "stop once it is done", a second one kills it.
    """
    pid = getattr(worker, "horse_pid", 0) if worker is not None else 0
    if not pid:
        return

    def stop(*_: object) -> None:
        if SemaphoreWorker.stop_asked:
            os.kill(pid, signal.SIGKILL)
        SemaphoreWorker.stop_asked = True

    previous = {sig: signal.signal(sig, stop) for sig in _STOP_SIGNALS}
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # already reaped
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _pause(seconds: float) -> bool:
    """Sleep, or return False at once when SIGTERM/SIGINT arrives meanwhile."""
    stopped = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopped.set()) for sig in _STOP_SIGNALS}
    try:
        return not stopped.wait(seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _redis_answers() -> bool:
    try:
        return bool(broker.connection().ping())
    except redis.RedisError:
        return False
