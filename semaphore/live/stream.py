"""What one WebSocket client receives: a project stream (the original's messages) or a follower.

Each runs in the client's own request thread until the client leaves. Database reads end with
a rollback, so a long-lived socket never holds a connection or a transaction open.

* `ProjectStream` sends the original's `update` and per-line `log` messages for every project
  the user may see (or one project), rechecking membership every few seconds. A client that
  falls too far behind is disconnected, as by the original.
* `TaskFollower` follows one task: every line after `after`, then live lines, in order and
  without duplicates, as `output` batches, and the task's `update` messages. The database is
  read for what pub/sub did not bring (a late start, a gap, a slow client, a Redis outage).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from semaphore.errors import NotFound, ValidationError
from semaphore.extensions import db
from semaphore.live import events
from semaphore.live.events import LiveEvent
from semaphore.live.hub import hub
from semaphore.models import FINISHED_STATUSES, Task, User, isoformat
from semaphore.services import projects
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output

WAIT_SECONDS = 1.0  # how often a stream looks at its socket and the clock
IDLE_CHECK_SECONDS = 2.0  # a follower with nothing new reads the database this often
ACCESS_CHECK_SECONDS = 10.0
CATCH_UP_LINES = 2000


class Socket(Protocol):
    connected: bool

    def send(self, data: str) -> None: ...

    def receive(self, timeout: float | None = None) -> Any: ...

    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


def _drop_client_messages(ws: Socket) -> None:
    # The stream is push-only: what a client sends is read and dropped.
    while ws.connected and ws.receive(timeout=0) is not None:
        pass


def _end_transaction() -> None:
    db.session.rollback()


class ProjectStream:
    """The original's push stream, for all the user's projects or one of them."""

    def __init__(self, ws: Socket, user_id: int, project_id: int | None, logs: bool) -> None:
        self.ws = ws
        self.user_id = user_id
        self.project_id = project_id
        self.logs = logs
        self.everything = False
        self.visible: frozenset[int] = frozenset()
        self._checked_at = 0.0

    def _check_access(self) -> bool:
        """Refresh which projects the user may see; False when the user is gone."""
        try:
            user = db.session.get(User, self.user_id)
            if user is None:
                return False
            self.everything = user.admin
            self.visible = frozenset(p.id for p in projects.list_projects(user))
            if self.project_id is not None and not (
                self.everything or self.project_id in self.visible
            ):
                return False
        finally:
            _end_transaction()
        self._checked_at = time.monotonic()
        return True

    def _accepts(self, event: LiveEvent) -> bool:
        if self.project_id is not None and event.project_id != self.project_id:
            return False
        if event.kind == "lines" and not self.logs:
            return False
        return self.everything or event.project_id in self.visible

    def run(self) -> None:
        if not self._check_access():
            return
        subscription = hub().subscribe(self._accepts)
        try:
            while self.ws.connected:
                event = subscription.get(WAIT_SECONDS)
                _drop_client_messages(self.ws)
                if subscription.overflowed:
                    self.ws.close(message="too slow to follow the live stream")
                    return
                if time.monotonic() - self._checked_at >= ACCESS_CHECK_SECONDS:
                    if not self._check_access():
                        self.ws.close(message="no longer allowed")
                        return
                if event is None or not self._accepts(event):
                    continue
                if event.kind == "update":
                    self.ws.send(event.cached("update", lambda e=event: json.dumps(e.update)))
                else:
                    for message in events.original_log_messages(event):
                        self.ws.send(message)
        finally:
            subscription.close()


class TaskFollower:
    """One task's output from line `after + 1` on, and its status changes."""

    def __init__(self, ws: Socket, user_id: int, task: Task, after: int, html: bool) -> None:
        self.ws = ws
        self.user_id = user_id
        self.task_id = task.id
        self.project_id = task.project_id
        self.last = after
        self.html = html
        self.sent_update: dict[str, Any] | None = None
        self._checked_at = time.monotonic()

    def run(self) -> None:
        subscription = hub().subscribe(lambda event: event.task_id == self.task_id)
        try:
            self._from_database()
            idle_since = time.monotonic()
            while self.ws.connected:
                event = subscription.get(WAIT_SECONDS)
                _drop_client_messages(self.ws)
                now = time.monotonic()
                if now - self._checked_at >= ACCESS_CHECK_SECONDS and not self._allowed():
                    self.ws.close(message="no longer allowed")
                    return
                if subscription.overflowed or subscription.missed:
                    subscription.clear()
                    self._from_database()
                elif event is not None:
                    idle_since = now
                    self._relay(event)
                elif now - idle_since >= IDLE_CHECK_SECONDS and not self._finished():
                    idle_since = now
                    self._from_database()
        finally:
            subscription.close()

    def _allowed(self) -> bool:
        self._checked_at = time.monotonic()
        try:
            project_access(db.session.get(User, self.user_id), self.project_id)
            return True
        except NotFound:
            return False
        finally:
            _end_transaction()

    def _finished(self) -> bool:
        return self.sent_update is not None and self.sent_update["status"] in FINISHED_STATUSES

    def _relay(self, event: LiveEvent) -> None:
        if event.kind == "lines":
            if event.first_seq > self.last + 1:
                self._catch_up()  # something was missed: it is in the database
            if event.first_seq == self.last + 1:
                # The usual case: the whole batch, encoded once for every follower.
                self.ws.send(events.output_event_message(event, self.html))
                self.last = event.last_seq
            elif event.last_seq > self.last:
                lines = events.event_lines(event, self.html)
                self._send_lines(lines[self.last + 1 - event.first_seq :])
        else:
            if event.update.get("status") in FINISHED_STATUSES:
                self._catch_up()  # every line before the final status
            self._send_update(event.update)

    def _from_database(self) -> None:
        """Send the stored lines not yet sent, then the task's state if it changed."""
        self._catch_up()
        try:
            task = db.session.get(Task, self.task_id)
            update = events.update_fields(task) if task is not None else None
        finally:
            _end_transaction()
        if update is not None:
            self._send_update(update)

    def _catch_up(self) -> None:
        while True:
            try:
                stored = task_output.read_lines(self.task_id, self.last, CATCH_UP_LINES)
            finally:
                _end_transaction()
            if stored:
                self._send_lines(
                    [
                        events.output_line(line.seq, isoformat(line.time), line.output, self.html)
                        for line in stored
                    ]
                )
            if len(stored) < CATCH_UP_LINES:
                return

    def _send_lines(self, lines: list[dict[str, Any]]) -> None:
        if lines:
            self.ws.send(events.output_message(self.project_id, self.task_id, lines))
            self.last = lines[-1]["seq"]

    def _send_update(self, update: dict[str, Any]) -> None:
        if self._finished() and update.get("status") not in FINISHED_STATUSES:
            return  # a message older than the final state already sent
        if update != self.sent_update:
            self.ws.send(json.dumps(update))
            self.sent_update = update


def _query_int(args: Any, name: str) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError(f"{name} must be a non-negative integer", name)
    return int(raw)


def _query_flag(args: Any, name: str, default: bool) -> bool:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise ValidationError(f"{name} must be 1 or 0", name)


def plan_stream(args: Any, user: User) -> Callable[[Socket], ProjectStream | TaskFollower]:
    """Check a connection's query before the upgrade; returns what to run once upgraded.

    `task_id` (with `after`, `html`) follows one task; otherwise `project_id` narrows the
    original's stream to one project and `logs=0` leaves out the output lines.

    Raises:
        ValidationError: a malformed parameter.
        NotFound: a project or task the user may not see.
    """
    project_id = _query_int(args, "project_id")
    task_id = _query_int(args, "task_id")
    after = _query_int(args, "after") or 0
    html = _query_flag(args, "html", False)
    logs = _query_flag(args, "logs", True)
    user_id = user.id
    if task_id is not None:
        task = db.session.get(Task, task_id)
        if task is None or (project_id is not None and task.project_id != project_id):
            raise NotFound("Task not found")
        project_access(user, task.project_id)
        _end_transaction()
        return lambda ws: TaskFollower(ws, user_id, task, after, html)
    if project_id is not None:
        project_access(user, project_id)
    _end_transaction()
    return lambda ws: ProjectStream(ws, user_id, project_id, logs)
