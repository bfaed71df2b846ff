"""Which channels fire for a task's status, sending each, and recording what happened.

The original's rules (services/tasks/alert.go and TaskRunner's status handling):
* nothing unless the project has `alert` on, and each channel only with its own `*_alert`;
* e-mail only on `error`, to project members and administrators whose `alert` is on;
* chat channels on `success`, `error` and `waiting_confirmation`; a success is not announced
  when the template has `suppress_success_alerts`.

Every channel is tried whatever the others do; a failure is logged (with the channel's name,
never its URL or token) and never touches the task's status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from semaphore.config import Config
from semaphore.extensions import db
from semaphore.models import FINISHED_STATUSES, Project, ProjectUser, Task, Template, User
from semaphore.notifications import dingtalk, gotify, rocketchat, slack, teams, telegram
from semaphore.notifications import email as email_channel
from semaphore.notifications.http import NotificationError
from semaphore.notifications.message import TaskMessage, build_message
from semaphore.services import task_output
from semaphore.services.settings import current_config

log = logging.getLogger(__name__)

# In the original's order.
CHAT_CHANNELS = (telegram, slack, rocketchat, teams, dingtalk, gotify)
CHAT_STATUSES = ("success", "error", "waiting_confirmation")
EMAIL_STATUSES = ("error",)


@dataclass
class Outcome:
    """What one channel did: sent, or failed with a reason."""

    channel: str
    error: str | None = None
    detail: str = ""

    @property
    def line(self) -> str:
        """The line written to the task's log."""
        if self.error is None:
            suffix = f" {self.detail}" if self.detail else ""
            return f"Sent the {self.channel} notification{suffix}"
        return f"Could not send the {self.channel} notification: {self.error}"


def send_task_notifications(task_id: int, status: str) -> list[Outcome]:
    """Send every notification due for the task having reached `status`."""
    config = current_config()
    task = db.session.get(Task, task_id)
    project = db.session.get(Project, task.project_id) if task is not None else None
    if task is None or project is None or not project.alert:
        return []
    message = build_message(config, task, project, status)
    outcomes: list[Outcome] = []
    if status in EMAIL_STATUSES and email_channel.enabled(config):
        outcome = _send_email(config, message)
        if outcome is not None:
            outcomes.append(outcome)
    if _chat_due(task, status):
        for channel in CHAT_CHANNELS:
            if channel.enabled(config, message):
                outcomes.append(_send_chat(channel, config, message))
    # While a task waits for confirmation its worker still writes the log: only a finished
    # task's log is ours to add to.
    if outcomes and status in FINISHED_STATUSES:
        _write_to_task_log(task_id, outcomes)
    return outcomes


def _chat_due(task: Task, status: str) -> bool:
    if status not in CHAT_STATUSES:
        return False
    if status == "success":
        template = db.session.get(Template, task.template_id)
        return not (template is not None and template.suppress_success_alerts)
    return True


def _send_chat(channel: ModuleType, config: Config, message: TaskMessage) -> Outcome:
    try:
        channel.send(config, message)
    except NotificationError as exc:
        log.warning("task %s: %s notification failed: %s", message.task_id, channel.NAME, exc)
        return Outcome(channel.NAME, str(exc))
    except Exception as exc:  # noqa: BLE001 - one channel's bug must not stop the others
        log.exception("task %s: %s notification failed", message.task_id, channel.NAME)
        return Outcome(channel.NAME, f"internal error ({type(exc).__name__})")
    return Outcome(channel.NAME)


def alert_recipients(project_id: int) -> list[str]:
    """E-mail addresses of the project's members and all administrators with `alert` on."""
    members = select(ProjectUser.user_id).where(ProjectUser.project_id == project_id)
    query = (
        select(User.email)
        .where(User.alert.is_(True), User.email != "")
        .where(or_(User.admin.is_(True), User.id.in_(members)))
        .order_by(User.id)
    )
    return list(db.session.scalars(query))


def _send_email(config: Config, message: TaskMessage) -> Outcome | None:
    recipients = alert_recipients(message.project_id)
    if not recipients:
        log.info("task %s: no one to e-mail (no member or admin has alerts on)", message.task_id)
        return None
    try:
        refused = email_channel.send(config, message, recipients)
    except NotificationError as exc:
        log.warning("task %s: e-mail notification failed: %s", message.task_id, exc)
        return Outcome(email_channel.NAME, str(exc))
    except Exception as exc:  # noqa: BLE001 - as for chat channels
        log.exception("task %s: e-mail notification failed", message.task_id)
        return Outcome(email_channel.NAME, f"internal error ({type(exc).__name__})")
    for address, reason in refused.items():
        log.warning("task %s: e-mail to %s refused: %s", message.task_id, address, reason)
    if refused:
        # Addresses stay out of the task log, which every project member can read.
        return Outcome(
            email_channel.NAME, f"refused for {len(refused)} of {_count(len(recipients))}"
        )
    return Outcome(email_channel.NAME, detail=f"to {_count(len(recipients))}")


def _count(n: int) -> str:
    return f"{n} recipient" + ("" if n == 1 else "s")


def _write_to_task_log(task_id: int, outcomes: list[Outcome]) -> None:
    try:
        for outcome in outcomes:
            task_output.append_line(task_id, outcome.line)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("task %s: could not write the notification outcome to its log", task_id)
