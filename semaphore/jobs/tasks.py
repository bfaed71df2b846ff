"""The RQ job that runs one task: claim it, run the engine, store output and the outcome.

The engine runs in a thread of its own. This thread keeps the app context and does all the
database and Redis work: it writes output batches, renews the task's liveness key, notices a
stop request or a confirmation, and records status changes the engine reports.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time

import redis

from semaphore import notifications
from semaphore.config import current_config
from semaphore.engine.runner import TaskRunner
from semaphore.engine.runner import warm_up as engine_warm_up
from semaphore.engine.spec import EngineSettings, RunResult
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.task_output import OutputWriter
from semaphore.models import AccessKey, Environment, Inventory, Repository, Task, Template, User
from semaphore.queue import dispatch as task_queue
from semaphore.services import apps, tasks
from semaphore.services.tasks import output as task_output
from semaphore.services.tasks.run_spec import build_spec

log = logging.getLogger(__name__)
STOP_POLL_SECONDS = 0.2
DATABASE_POLL_SECONDS = 1.0


def run_task(task_id: int, project_id: int | None = None) -> None:
    """RQ entry point: run the task if this worker wins its claim. Jobs sent before they
    named the project (an upgrade with tasks queued) have the task id alone."""
    app = runtime.get_app()
    with app.app_context():
        try:
            if task_queue.claim(task_id, project_id=project_id):
                TaskJob(task_id, project_id).run()
        finally:
            db.session.remove()
            try:
                task_queue.dispatch_waiting()
            except Exception:  # noqa: BLE001 - the scheduler's recovery sends it later
                log.exception("could not dispatch waiting tasks")


def warm_up() -> None:
    """Send a job's first queries once, when the worker starts: the first task then finds
    the mappers configured, the statements compiled and a connection open (about 40 ms cold),
    which counts most in its claim. Nothing matches id 0. The engine's sandbox check and
    system mounts too (a bwrap start and thousands of path checks a run)."""
    try:
        task_queue.warm_up()
        for model in (Task, Template, User, Repository, Inventory, AccessKey, Environment):
            db.session.get(model, 0)
        task_output.last_seq(0)
        engine_warm_up(EngineSettings.from_config(current_config(), apps=apps.app_settings()))
    finally:
        db.session.rollback()


class TaskJob:
    """One claimed task, from `starting` to a final status."""

    def __init__(self, task_id: int, project_id: int | None = None) -> None:
        self.task_id = task_id
        self.output = OutputWriter(task_id, project_id)
        # Referenced so that the session's identity map (weak) keeps it between reads.
        self.template: Template | None = None
        self.statuses: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.commit: tuple[str, str] | None = None
        self.confirmed = threading.Event()
        self.rejected = threading.Event()
        self.awaiting_confirmation = False
        self.stop_requested = threading.Event()
        self.runner: TaskRunner | None = None
        self.result: RunResult | None = None
        self.crash: BaseException | None = None

    def run(self) -> None:
        task = db.session.get(Task, self.task_id)
        self.template = db.session.get(Template, task.template_id)
        try:
            spec = build_spec(task)
        except Exception as exc:  # noqa: BLE001 - a preparation error ends the task
            self.output.write(f"Error: {exc}")
            self._finish(RunResult("error", str(exc)))
            return
        settings = EngineSettings.from_config(current_config(), apps=apps.app_settings())
        # What the run receives, for the task page (secrets are not among these variables):
        # written with the `running` status, in one UPDATE.
        task.run_variables = json.dumps(dict(spec.environment.json))
        runner = self.runner = TaskRunner(
            spec,
            settings,
            on_line=self.output.write,
            on_status=self.statuses.put,
            on_commit=lambda sha, message: setattr(self, "commit", (sha, message)),
            confirm=self._wait_for_confirmation,
        )
        self._set_status("running")
        thread = threading.Thread(target=self._run_engine, args=(runner,), daemon=True)
        thread.start()
        self._supervise(runner, thread)
        if self.crash is not None:
            self.output.write(f"Running app failed: {self.crash}")
        self._finish(self.result or RunResult("error", "the engine failed"))

    def _run_engine(self, runner: TaskRunner) -> None:
        try:
            self.result = runner.run()
        except BaseException as exc:  # noqa: BLE001 - reported by the supervising thread
            self.crash = exc
        finally:
            self.output.wake()  # the supervising thread stops waiting for more output

    def _supervise(self, runner: TaskRunner, thread: threading.Thread) -> None:
        """Until the engine ends: store output, renew liveness, pass on stops and statuses."""
        # Liveness at once; the database's first look after a second (a stop asked through
        # the database alone is for when Redis is down: a short run ends before it matters).
        last_beat, last_look = 0.0, time.monotonic()
        while thread.is_alive():
            self.output.wait()
            self.output.flush()
            self._apply_statuses()
            stop = False
            if time.monotonic() - last_beat >= STOP_POLL_SECONDS:
                last_beat = time.monotonic()
                try:
                    stop = task_queue.heartbeat(self.task_id)
                except redis.RedisError:
                    pass  # Redis is back soon or the reaper ends the task; keep running
            if time.monotonic() - last_look >= DATABASE_POLL_SECONDS:
                # The database is the truth: a stop asked while Redis was down arrives too.
                last_look = time.monotonic()
                stop = stop or self._stop_stored()
            if stop and not runner.stopped:
                self.stop_requested.set()
                runner.stop()
        thread.join()
        self.output.flush()
        self._apply_statuses()

    def _apply_statuses(self) -> None:
        while not self.statuses.empty():
            self._set_status(self.statuses.get())
        if self.awaiting_confirmation and not self.confirmed.is_set():
            db.session.expire_all()
            task = db.session.get(Task, self.task_id)
            if task is not None and task.status == "confirmed":
                self.confirmed.set()
            elif task is not None and task.status == "rejected":
                self.rejected.set()

    def _stop_stored(self) -> bool:
        db.session.expire_all()
        task = db.session.get(Task, self.task_id)
        return task is None or task.status in ("stopping", "stopped")

    def _wait_for_confirmation(self) -> bool:
        """Called by the engine's thread: block until confirmed (True), or rejected or stopped
        (False), by a user or by the run's time limit (the engine stops itself then)."""
        while not self.confirmed.wait(STOP_POLL_SECONDS):
            if self.stop_requested.is_set() or self.rejected.is_set() or self.runner.stopped:
                return False
        return True

    def _set_status(self, status: str) -> None:
        self.awaiting_confirmation = status == "waiting_confirmation"
        task = db.session.get(Task, self.task_id)
        if tasks.change_status(task, status):
            db.session.commit()
            notifications.on_task_status(self.task_id, status)

    def _finish(self, result: RunResult) -> None:
        # Every line, including the job's own last words, is stored before the final status.
        self.output.flush()
        db.session.expire_all()
        task = db.session.get(Task, self.task_id)
        # Read before the task changes (the status change needs it): the read would flush
        # the commit's fields in an UPDATE of their own.
        self.template = db.session.get(Template, task.template_id)
        status = tasks.ending_status(task, result.status)
        if status == "error" and _stop_requested(self.task_id):
            status = "stopped"  # asked through Redis, and the database not yet read
        if self.commit is not None:
            task.commit_hash, task.commit_message = self.commit
        elif result.commit_hash:
            task.commit_hash, task.commit_message = result.commit_hash, result.commit_message
        if status == "error" and result.message and not task.message:
            task.message = result.message[:250]
        changed = tasks.change_status(task, status)
        db.session.commit()
        task_queue.forget(self.task_id)
        if changed:  # not already ended by the recovery pass, which notified then
            notifications.on_task_status(self.task_id, status)


def _stop_requested(task_id: int) -> bool:
    try:
        return task_queue.heartbeat(task_id)
    except redis.RedisError:
        return False
