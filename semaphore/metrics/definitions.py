"""The counters, histograms and gauges every process counts into, and one small function per
event, so that a caller's cost is a dictionary lookup and an increment.

Names follow Prometheus' rules (`semaphore_` prefix, base units, `_total` on counters) and every
label takes a bounded set of values: a template's app, a task status, an HTTP method and route
rule (never a path), a channel. No task id, user name or address is ever a label value.
Importing this module needs no Flask: workers and the scheduler load it.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram

# A wait in the queue: sub-second when a worker is free, minutes behind a parallel limit.
WAIT_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
# A run: a few seconds for a script, hours for a big playbook.
DURATION_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200)
HTTP_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))

TASKS_STARTED = Counter(
    "semaphore_tasks_started_total", "Tasks that began running, by template app.", ["app"]
)
TASKS_FINISHED = Counter(
    "semaphore_tasks_finished_total",
    "Tasks that reached a final status (success, error, stopped, rejected), by template app.",
    ["app", "status"],
)
TASK_WAIT = Histogram(
    "semaphore_task_wait_seconds",
    "Time from a task's creation (its POST, schedule or integration) to the start of its run.",
    ["app"],
    buckets=WAIT_BUCKETS,
)
TASK_DURATION = Histogram(
    "semaphore_task_duration_seconds",
    "Time from the start of a task's run to its final status (tasks that ran).",
    ["app"],
    buckets=DURATION_BUCKETS,
)
OUTPUT_LINES = Counter(
    "semaphore_task_output_lines_total", "Task output lines stored (in the database)."
)
OUTPUT_BYTES = Counter(
    "semaphore_task_output_bytes_total", "Task output stored, in bytes of UTF-8 text."
)
WEBSOCKETS = Gauge(
    "semaphore_websocket_connections",
    "Open live-update WebSocket connections (/api/ws), over every web process.",
    multiprocess_mode="livesum",
)
HTTP_REQUESTS = Counter(
    "semaphore_http_requests_total",
    "HTTP requests answered by the app, by method, route rule and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "semaphore_http_request_duration_seconds",
    "Time the app took to answer a request (to its first byte for a streamed answer; "
    "WebSocket sessions are left out), by method and route rule.",
    ["method", "route"],
)
LOGIN_FAILURES = Counter(
    "semaphore_login_failures_total",
    "Refused sign-ins: a wrong password, a wrong second-factor code, or a locked account.",
    ["reason"],
)
NOTIFICATIONS = Counter(
    "semaphore_notifications_total",
    "Notifications tried, by channel and outcome (sent or failed).",
    ["channel", "outcome"],
)


def task_started(app: str, created: datetime | None, start: datetime) -> None:
    """A task began running: counted, and its wait since creation observed."""
    TASKS_STARTED.labels(app).inc()
    if created is not None:
        TASK_WAIT.labels(app).observe(max((start - created).total_seconds(), 0.0))


def task_finished(app: str, status: str, start: datetime | None, end: datetime) -> None:
    """A task reached a final status: counted, and its run's length observed if it ran."""
    TASKS_FINISHED.labels(app, status).inc()
    if start is not None:
        TASK_DURATION.labels(app).observe(max((end - start).total_seconds(), 0.0))


def output_stored(lines: int, size: int) -> None:
    """One batch of output lines was stored."""
    OUTPUT_LINES.inc(lines)
    OUTPUT_BYTES.inc(size)


def http_request(method: str, route: str, status: int, seconds: float | None) -> None:
    """One answered request; `seconds` None leaves it out of the latency histogram."""
    method = method if method in HTTP_METHODS else "other"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    if seconds is not None:
        HTTP_DURATION.labels(method, route).observe(seconds)


def login_failed(reason: str) -> None:
    """A refused sign-in: "password", "second_factor" or "locked"."""
    LOGIN_FAILURES.labels(reason).inc()


def notification_sent(channel: str, ok: bool) -> None:
    """One channel tried one notification."""
    NOTIFICATIONS.labels(channel, "sent" if ok else "failed").inc()
