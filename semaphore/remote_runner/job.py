"""One job on the runner: the engine's run of its TaskSpec in a thread of its own, as the
worker's TaskJob runs it (semaphore.jobs.tasks), with the server's answers coming from polls
instead of the database.

Everything the engine says goes into the job's Outbox: lines with the time it read them,
status changes (waiting_confirmation, running) and the commit. The loop passes on what each
poll shows: `confirmed` lets a waiting plan apply; `rejected`, `stopping`, `stopped`, or the
job gone from the poll, refuse it and stop the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from semaphore.engine.runner import TaskRunner
from semaphore.engine.spec import EngineSettings, RunResult, TaskSpec
from semaphore.remote_runner.outbox import Outbox

log = logging.getLogger(__name__)

SHUT_DOWN_LINE = "the runner was shut down"
RESTARTED_LINE = "the runner restarted during the run: the run was lost"
STOP_STATUSES = ("stopping", "stopped")
REFUSED_STATUSES = ("rejected", *STOP_STATUSES)
CONFIRM_POLL_SECONDS = 0.2


class RemoteJob:
    """A job this runner took: started once the server has it `running`, then supervised."""

    def __init__(
        self,
        spec: TaskSpec,
        settings: EngineSettings,
        outbox: Outbox,
        on_finish: Callable[[], None],
    ) -> None:
        self.id = spec.task_id
        self.outbox = outbox
        self._on_finish = on_finish
        self._answered = threading.Event()
        self._confirmed = False
        self.stop_requested = False  # by the server: the run ends `stopped`
        self.shut_down = False  # by this runner's shutdown: the run ends `error`
        self.finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._runner = TaskRunner(
            spec,
            settings,
            on_line=outbox.line,
            on_status=outbox.status,
            on_commit=outbox.commit,
            confirm=self._wait_for_confirmation,
        )

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Run the engine in its own thread (call once the server has the job `running`)."""
        self._thread = threading.Thread(target=self._run, name=f"job-{self.id}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """The server stopped the job before its engine started: it ends `stopped`, unrun."""
        self.stop_requested = True
        self._answer(False)
        self.outbox.status("stopped")
        self.finished.set()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def server_shows(self, status: str | None) -> None:
        """What the last poll says of the job (None: it is gone from it)."""
        if status == "confirmed":
            self._answer(True)
        elif status is None or status in REFUSED_STATUSES:
            # Gone: taken away, force-stopped or rejected; it is the server's call either way.
            self.stop(by_server=status is None or status in STOP_STATUSES)

    def stop(self, by_server: bool) -> None:
        """Stop the run: SIGTERM to its process group, SIGKILL after the grace."""
        if by_server:
            self.stop_requested = True
        else:
            self.shut_down = True
        self._answer(False)
        if self.started and not self._runner.stopped and not self.finished.is_set():
            log.info("stopping job %s", self.id)
            self._runner.stop()

    def _answer(self, confirmed: bool) -> None:
        if not self._answered.is_set():
            self._confirmed = confirmed
            self._answered.set()

    def _wait_for_confirmation(self) -> bool:
        """Called by the engine's thread: block until a poll shows the answer, or the run's time
        limit stops it (the engine stops itself then)."""
        while not self._answered.wait(CONFIRM_POLL_SECONDS):
            if self._runner.stopped:
                return False
        return self._confirmed

    def _run(self) -> None:
        result = RunResult("error", "the engine failed")
        try:
            result = self._runner.run()
        except BaseException:  # noqa: BLE001 - an engine bug ends this job, not the runner
            # The engine wrote "Running app failed: ..." in the job's output already.
            log.exception("job %s: the engine failed", self.id)
        finally:
            self._finish(result)

    def _finish(self, result: RunResult) -> None:
        status = result.status
        if self.stop_requested:
            status = "stopped"
        elif self.shut_down and status == "stopped":
            self._runner.log(SHUT_DOWN_LINE)
            status = "error"
        # The commit went to the outbox through on_commit as soon as the checkout was done.
        self.outbox.status(status)
        log.info("job %s finished: %s", self.id, status)
        self.finished.set()
        self._on_finish()
