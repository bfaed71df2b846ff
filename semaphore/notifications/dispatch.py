"""Which channels fire for a task's status, sending each, and recording what happened.

The original's rules (services/tasks/alert.go and TaskRunner's status handling):
* nothing unless the project has `alert` on, and each channel only with its own `*_alert`;
* e-mail only on `error`, to project members and administrators whose `alert` is on;
* chat channels on `success`, `error` and `waiting_confirmation`; a success is not announced
  when the template has `suppress_success_alerts`.

Every channel is tried whatever the others do; a failure is logged (with the channel's name,
never its URL or token) and never touches the task's status.

A test notification (`send_test_notifications`, not in the original's 2.10 source) goes through
the same channels: e-mail to the same recipients as a failure, and every chat channel that is
configured, whatever the status rules say.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from types import ModuleType

from sqlalchemy import or_, select

from semaphore.config import Config, current_config
from semaphore.extensions import db
from semaphore.metrics import definitions as metrics
from semaphore.models import Project, ProjectUser, Task, Template, User
from semaphore.notifications import dingtalk, gotify, rocketchat, slack, teams, telegram
from semaphore.notifications import email as email_channel
from semaphore.notifications.http import NotificationError
from semaphore.notifications.message import TaskMessage, build_message, build_test_message

log = logging.getLogger(__name__)

# In the original's order.
CHAT_CHANNELS = (telegram, slack, rocketchat, teams, dingtalk, gotify)
CHAT_STATUSES = ("success", "error", "waiting_confirmation")
EMAIL_STATUSES = ("error",)
# A channel's label in the metrics: "slack", "teams", "email"... (not its display name).
CHANNEL_LABELS = {
    channel.NAME: channel.__name__.rsplit(".", 1)[-1] for channel in (*CHAT_CHANNELS, email_channel)
}
NO_RECIPIENT = "no project member or administrator has alerts on"
# Project members read the activity log: what a server answered may quote an address or a URL.
_ADDRESS = re.compile(r"\S+@\S+")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
# The settings whose values must never show in an event (URLs carry webhook secrets).
SECRET_SETTINGS = (
    "telegram_token",
    "slack_url",
    "rocketchat_url",
    "microsoft_teams_url",
    "dingtalk_url",
    "gotify_url",
    "gotify_token",
    "email_username",
    "email_password",
)


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
    return _counted(outcomes)


def send_test_notifications(project_id: int, user_id: int | None) -> list[Outcome] | None:
    """Send the project's test notification through every configured channel.

    Returns each channel's outcome ([] when none is configured), or None when the project is
    gone or its alerts have been turned off since the test was asked for.
    """
    config = current_config()
    project = db.session.get(Project, project_id)
    if project is None or not project.alert:
        return None
    requester = db.session.get(User, user_id) if user_id is not None else None
    message = build_test_message(config, project, requester)
    outcomes: list[Outcome] = []
    if email_channel.enabled(config):
        outcomes.append(_send_email(config, message) or Outcome(email_channel.NAME, NO_RECIPIENT))
    for channel in CHAT_CHANNELS:
        if channel.enabled(config, message):
            outcomes.append(_send_chat(channel, config, message))
    return _counted(outcomes)


def _counted(outcomes: list[Outcome]) -> list[Outcome]:
    """The outcomes, each counted in the metrics by channel (its module's name) and outcome."""
    for outcome in outcomes:
        label = CHANNEL_LABELS.get(outcome.channel, "other")
        metrics.notification_sent(label, outcome.error is None)
    return outcomes


def summary_of_test(config: Config, outcomes: list[Outcome]) -> str:
    """The activity-log line of a test notification: which channels sent it, which failed and why.

    No URL, token or e-mail address appears in it.
    """
    if not outcomes:
        return "Test notification: no channel is configured"
    sent = [_with_detail(o) for o in outcomes if o.error is None]
    failed = [
        f"could not send via {o.channel}: {_redact(config, o.error)}"
        for o in outcomes
        if o.error is not None
    ]
    parts = ([f"sent via {', '.join(sent)}"] if sent else []) + failed
    return "Test notification: " + "; ".join(parts)


def _with_detail(outcome: Outcome) -> str:
    return f"{outcome.channel} ({outcome.detail})" if outcome.detail else outcome.channel


def _redact(config: Config, text: str | None) -> str:
    text = text or ""
    for name in SECRET_SETTINGS:
        value = getattr(config, name, "")
        if isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, "[hidden]")
    return _ADDRESS.sub("[address]", _URL.sub("[URL]", text))


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
        log.warning("%s: %s notification failed: %s", _about(message), channel.NAME, exc)
        return Outcome(channel.NAME, str(exc))
    except Exception as exc:  # noqa: BLE001 - one channel's bug must not stop the others
        log.exception("%s: %s notification failed", _about(message), channel.NAME)
        return Outcome(channel.NAME, f"internal error ({type(exc).__name__})")
    return Outcome(channel.NAME)


def _about(message: TaskMessage) -> str:
    """Whose notification a log line is about."""
    if message.test:
        return f"project {message.project_id} (test notification)"
    return f"task {message.task_id}"


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
        log.info("%s: no one to e-mail (no member or admin has alerts on)", _about(message))
        return None
    try:
        refused = email_channel.send(config, message, recipients)
    except NotificationError as exc:
        log.warning("%s: e-mail notification failed: %s", _about(message), exc)
        return Outcome(email_channel.NAME, str(exc))
    except Exception as exc:  # noqa: BLE001 - as for chat channels
        log.exception("%s: e-mail notification failed", _about(message))
        return Outcome(email_channel.NAME, f"internal error ({type(exc).__name__})")
    for address, reason in refused.items():
        log.warning("%s: e-mail to %s refused: %s", _about(message), address, reason)
    if refused:
        # Addresses stay out of the task log, which every project member can read.
        return Outcome(
            email_channel.NAME, f"refused for {len(refused)} of {_count(len(recipients))}"
        )
    return Outcome(email_channel.NAME, detail=f"to {_count(len(recipients))}")


def _count(n: int) -> str:
    return f"{n} recipient" + ("" if n == 1 else "s")
