"""`semaphore worker`: an RQ worker on the task, notification and maintenance queues.

It runs the jobs itself, one after the other, without forking a work-horse per job (RQ's
SimpleWorker): a fork, its page faults and its fresh connections cost about twice
what a short task's own work does. Isolation does not rest on that fork: the run's tools
live in a sandbox of their own (engine.sandbox), chained to the run's thread by
PR_SET_PDEATHSIG, its secrets are removed by a janitor when this process dies
(engine.workspace), and the job gives its memory and connections back when it ends.

It never exits because Redis (or the database) went away. RQ's work loop ends on a lost
connection ("unhandled exception, quitting"); ours starts a new RQ worker once Redis answers
again, with a growing pause between tries (a run in progress finishes first: it runs in this
process and needs only the database). Only a stop request (SIGTERM, SIGINT) or burst mode ends
it: a first one once the current task has ended, a second one at once.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import threading
import time

import redis
from flask import Flask
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.worker import WorkerStatus

from semaphore import broker, memory
from semaphore.jobs import runtime

log = logging.getLogger(__name__)

# Pauses between tries while Redis is away: 1 s, doubling, at most 15 s.
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 15.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# A heartbeat is skipped when the last one's registration outlives this one's by less.
HEARTBEAT_SLACK_SECONDS = 5.0


class SemaphoreWorker(SimpleWorker):
    """RQ's in-process worker, remembering whether its loop ended because it was asked to stop."""

    stop_asked = False
    # Until when (monotonic) the last heartbeat keeps this worker's registration alive.
    _registered_until = 0.0

    def heartbeat(self, timeout: int | None = None, pipeline=None) -> None:  # noqa: ANN001
        """RQ's heartbeat in one round trip instead of three, and none when the last one
        keeps the registration alive nearly as long (RQ beats three times a job, each time
        for worker_ttl + 60 s: minutes, where a short task takes milliseconds)."""
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            return
        seconds = timeout or self.worker_ttl + 60
        started = time.monotonic()
        if self._registered_until - started > seconds - HEARTBEAT_SLACK_SECONDS:
            return
        beat = self.connection.pipeline(transaction=False)
        super().heartbeat(timeout, beat)
        beat.execute()
        self._registered_until = started + seconds

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        # RQ's forking worker keeps its registration alive while it watches the horse; here
        # the job has the main thread, so a thread of its own does that for a long run.
        ended = threading.Event()
        beating = threading.Thread(
            target=self._keep_alive, args=(job, execution, ended), name="rq-heartbeat", daemon=True
        )
        beating.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            ended.set()
            beating.join()
            # What a big run's output batches used goes back to the system, not to the next job.
            memory.give_back()
        self.set_state(WorkerStatus.IDLE)

    def _keep_alive(self, job: Job, execution: Execution, ended: threading.Event) -> None:
        while not ended.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except redis.RedisError:
                pass  # the run goes on without Redis; RQ's loop notices when the job ends

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
    # Imported and warmed up once, before the first job: every job runs in this process.
    import semaphore.jobs.notifications  # noqa: F401
    from semaphore.jobs.tasks import warm_up

    with app.app_context():
        warm_up()
    from semaphore.engine.workspace import sweep

    # Before any job: the files (secrets, agent sockets, workspaces) of runs killed on this host.
    sweep(app.config["SEMAPHORE"].tmp_path)
    level = app.config["SEMAPHORE"].log_level
    pause = FIRST_RETRY_SECONDS
    for incarnation in itertools.count(1):
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
        if burst or SemaphoreWorker.stop_asked or not _pause(pause):
            return
        pause = min(pause * 2, MAX_RETRY_SECONDS)
        if _redis_answers():
            pause = FIRST_RETRY_SECONDS
            log.info("worker: Redis answers again, working on")


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
