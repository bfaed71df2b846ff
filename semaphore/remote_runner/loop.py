"""The runner's loop: every second, report (PUT) then poll (GET), and act on the answer.

- A new job is reported `running`, and its engine starts only once that report was
  accepted: from then on the server lists it in CurrentJobs, never in new_jobs, so no job
  runs twice (the ids this process took are kept too).
- A job the server shows `stopping` or `stopped`, or no longer lists at all (taken away,
  force-stopped), is stopped. A job it lists that this process never took (the runner
  restarted during the run) is reported `error`.
- While the server is away (no answer, 5xx), every line and status waits in its job's
  outbox, the jobs keep running, and the loop retries after 1 s, 2 s, 4 s, then every 5 s
  (well within the server's runner_timeout, so an outage of the server alone never ends a
  running job).
- 401/404 means the server no longer knows the token: the jobs are stopped and the loop
  ends with status 1. Otherwise it ends with 0: after a shutdown (SIGTERM, SIGINT) once the
  stopped jobs are reported, or with one_off once its first jobs are done and reported.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from semaphore.config import RunnerConfig
from semaphore.engine.spec import EngineSettings, task_spec_from_dict
from semaphore.remote_runner.client import (
    RunnerClient,
    RunnerRefused,
    ServerUnavailable,
    TokenRejected,
)
from semaphore.remote_runner.job import RESTARTED_LINE, STOP_STATUSES, RemoteJob
from semaphore.remote_runner.outbox import Batch, Outbox

log = logging.getLogger(__name__)

INTERVAL = 1.0
MAX_BACKOFF = 5.0
# A report's text stays well under the server's 16 MiB request limit; more output than
# this goes in the next reports of the same cycle.
MAX_REPORT_BYTES = 4 * 1024 * 1024
MAX_REPORTS_PER_CYCLE = 16  # then poll, so a stop is seen even under endless output
# After a shutdown's stops, how long to keep trying to report them.
SHUTDOWN_REPORT_SECONDS = 30.0


class Backoff:
    """Seconds to wait before the next try: doubling from `first` up to `limit`."""

    def __init__(self, first: float = INTERVAL, limit: float = MAX_BACKOFF) -> None:
        self.first, self.limit = first, limit
        self.delay = first

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, self.limit)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class RunnerLoop:
    """Runs jobs for one registered runner until shut down, one_off done, or unregistered."""

    def __init__(
        self,
        client: RunnerClient,
        runner: RunnerConfig,
        settings: EngineSettings,
        interval: float = INTERVAL,
    ) -> None:
        self.client = client
        self.runner = runner
        self.settings = settings
        self.interval = interval
        self._backoff = Backoff(first=interval)
        self._wake = threading.Event()
        self._shutdown = threading.Event()
        self._shutdown_deadline: float | None = None
        self._outboxes: dict[int, Outbox] = {}  # every job with a report to send
        self._jobs: dict[int, RemoteJob] = {}  # the jobs taken, until reported done
        self._taken: set[int] = set()  # every job id this process took or reported
        self._took_any = False
        self._active: bool | None = None

    def request_shutdown(self) -> None:
        """Stop taking jobs, stop the running ones, report them, end (from a signal handler)."""
        self._shutdown.set()
        self._wake.set()

    def run(self) -> int:
        """Loop until done; returns the process's exit status."""
        while True:
            if self._shutdown.is_set() and self._shutdown_deadline is None:
                self._begin_shutdown()
            self._wake.clear()
            try:
                answered = self._cycle()
            except TokenRejected as exc:
                log.error(
                    "the server does not know this runner's token (%s: %s): it was "
                    "unregistered or deleted; register it again",
                    exc.status,
                    exc.message,
                )
                self._abandon_jobs()
                return 1
            if self._done():
                return 0
            if answered:
                self._backoff.reset()
                delay = self.interval
            else:
                delay = self._backoff.next()
            if self._shutdown_deadline is not None:
                delay = min(delay, max(self._shutdown_deadline - time.monotonic(), 0.0) + 0.1)
            self._wake.wait(delay)

    # --- one cycle ------------------------------------------------------------------------

    def _cycle(self) -> bool:
        """Report, poll, act; False when the server did not answer.

        Raises:
            TokenRejected: the token is not known (401/404).
        """
        if not self._send_reports():
            return False
        try:
            state = self.client.poll()
        except TokenRejected:
            raise
        except (ServerUnavailable, RunnerRefused) as exc:
            log.warning("poll failed, retrying: %s", exc)
            return False
        self._note_active(state.get("active"))
        new_jobs = [job for job in state.get("new_jobs") or [] if isinstance(job, dict)]
        self._apply(state.get("CurrentJobs") or [], new_jobs)
        if self._take(new_jobs):
            # Report them `running` now: their engines start as soon as that is accepted.
            self._send_reports()
        return True

    def _send_reports(self) -> bool:
        """Send what the outboxes hold; False when the server did not take it."""
        for _ in range(MAX_REPORTS_PER_CYCLE):
            batches = self._batches()
            if not batches:
                break
            accepted = True
            try:
                self.client.report([batch.entry() for batch in batches])
            except ServerUnavailable as exc:
                log.warning("report not sent, kept for the next try: %s", exc)
                return False
            except TokenRejected:
                raise
            except RunnerRefused as exc:
                # A body the server refuses would be refused again: dropped, or it would
                # hold back every later line of these jobs.
                log.error("the server refused a report, which is dropped: %s", exc.message)
                accepted = False
            for batch in batches:
                self._outboxes[batch.job_id].sent(batch, accepted)
        self._start_accepted()
        self._forget_reported()
        return True

    def _batches(self) -> list[Batch]:
        batches, budget = [], MAX_REPORT_BYTES
        for outbox in self._outboxes.values():
            if budget <= 0:
                break
            batch = outbox.batch(budget)
            if batch is not None:
                batches.append(batch)
                budget -= batch.size
        return batches

    def _start_accepted(self) -> None:
        for job in self._jobs.values():
            if not job.started and not job.finished.is_set() and "running" in job.outbox.delivered:
                log.info("job %s started", job.id)
                job.start()

    def _forget_reported(self) -> None:
        for job_id, outbox in list(self._outboxes.items()):
            job = self._jobs.get(job_id)
            # `finished` first: the final status is in the outbox before it is set.
            if (job is None or job.finished.is_set()) and outbox.empty:
                del self._outboxes[job_id]
                self._jobs.pop(job_id, None)

    # --- the poll's answer ----------------------------------------------------------------

    def _note_active(self, active: Any) -> None:
        if active is not None and bool(active) != self._active:
            self._active = bool(active)
            if self._active:
                log.info("the runner is active")
            else:
                log.warning("the runner is inactive: an administrator must activate it")

    def _apply(self, current_jobs: list[Any], new_jobs: list[dict[str, Any]]) -> None:
        listed = {_job_id(job): "starting" for job in new_jobs}
        listed.update(
            {_job_id(job): str(job.get("status")) for job in current_jobs if isinstance(job, dict)}
        )
        for job_id, job in list(self._jobs.items()):
            if job.finished.is_set():
                continue
            status = listed.get(job_id)
            if job.started:
                job.server_shows(status)
            elif status is None:
                log.info("job %s was taken back before it started", job_id)
                del self._jobs[job_id], self._outboxes[job_id]
                self._taken.discard(job_id)  # it never ran: it may come back
            elif status in STOP_STATUSES:
                job.cancel()
        for job_id in listed:
            if job_id is not None and listed[job_id] != "starting" and job_id not in self._taken:
                self._report_lost_run(job_id)

    def _report_lost_run(self, job_id: int) -> None:
        log.warning("job %s is running on the server but not here: reported as error", job_id)
        self._taken.add(job_id)
        outbox = self._outboxes[job_id] = Outbox(job_id)
        outbox.line(RESTARTED_LINE, _now())
        outbox.status("error")

    def _take(self, new_jobs: list[dict[str, Any]]) -> bool:
        """Take the new jobs there is room for; True when any was taken."""
        if self._shutdown.is_set() or (self.runner.one_off and self._took_any):
            return False
        took = False
        for data in new_jobs:
            job_id = _job_id(data)
            if job_id is None or job_id in self._taken:
                continue
            if not self._has_room():
                break
            self._taken.add(job_id)
            took = self._took_any = True
            job = self._new_job(job_id, data)
            if job is not None:
                self._jobs[job_id] = job
        return took

    def _new_job(self, job_id: int, data: dict[str, Any]) -> RemoteJob | None:
        """The job, reported `running` (not yet sent); None when it cannot run, reported
        `error` with a line saying why."""
        outbox = self._outboxes[job_id] = Outbox(job_id)
        try:
            spec = task_spec_from_dict(data["spec"])
            if spec.task_id != job_id:
                raise ValueError("a spec of another task")
            job = RemoteJob(spec, self.settings, outbox, self._wake.set)
        except Exception as exc:  # noqa: BLE001 - one bad job must not end the runner
            # Never the data itself in the log: it holds the job's secrets. The spec's own
            # TypeError and ValueError name fields, never values.
            if isinstance(exc, KeyError):
                reason = "the server sent no task spec"
            elif isinstance(exc, (TypeError, ValueError)):
                reason = f"a malformed task spec: {exc}"
            else:
                reason = type(exc).__name__
            log.error("job %s cannot run: %s", job_id, reason)
            outbox.line(f"Error: the runner cannot run this job ({reason})", _now())
            outbox.status("error")
            return None
        log.info("job %s taken", job_id)
        outbox.status("running")
        return job

    def _has_room(self) -> bool:
        limit = self.runner.max_parallel_tasks
        running = sum(1 for job in self._jobs.values() if not job.finished.is_set())
        return limit == 0 or running < limit

    # --- ending ---------------------------------------------------------------------------

    def _begin_shutdown(self) -> None:
        log.info("shutting down: stopping %d job(s)", len(self._jobs))
        self._shutdown_deadline = (
            time.monotonic() + self.settings.stop_grace_seconds + SHUTDOWN_REPORT_SECONDS
        )
        for job_id, job in list(self._jobs.items()):
            if job.started:
                job.stop(by_server=False)
            elif not job.finished.is_set():
                # Never started: the server still has it `starting` for a runner to take.
                del self._jobs[job_id], self._outboxes[job_id]

    def _done(self) -> bool:
        if self._shutdown_deadline is not None:
            if not self._jobs and not self._outboxes:
                return True
            if time.monotonic() > self._shutdown_deadline:
                log.error("shutting down with unreported jobs: %s", sorted(self._outboxes))
                return True
            return False
        return self.runner.one_off and self._took_any and not self._jobs and not self._outboxes

    def _abandon_jobs(self) -> None:
        """Stop every run (nothing can be reported any more) and wait for them to end."""
        for job in self._jobs.values():
            job.stop(by_server=False)
        for job in self._jobs.values():
            job.join(self.settings.stop_grace_seconds + 5)


def _job_id(job: Any) -> int | None:
    """A job's task id: `task.id` of a new job (else its spec's task_id), `id` of a current one."""
    if not isinstance(job, dict):
        return None
    task = job.get("task")
    spec = job.get("spec")
    for value in (
        job.get("id"),
        task.get("id") if isinstance(task, dict) else None,
        spec.get("task_id") if isinstance(spec, dict) else None,
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _now() -> datetime:
    return datetime.now(UTC)
