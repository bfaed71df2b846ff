"""Notifications of a task's outcome: e-mail and chat services, one module per channel.

`on_task_status` is what the worker (and the recovery pass) call once a status is committed.
It only enqueues `semaphore.jobs.notifications.send_task_notifications` on the notifications
queue, so sending never runs inside, nor delays, the task's own job; `dispatch` decides which
channels fire and sends them. This module touches only the broker, so services may call it.
"""

from __future__ import annotations

import logging

from semaphore import broker
from semaphore.config import current_config

log = logging.getLogger(__name__)

SEND_JOB = "semaphore.jobs.notifications.send_task_notifications"
# The statuses the original notifies of (TaskStatus.IsNotifiable).
NOTIFIED_STATUSES = ("success", "error", "waiting_confirmation")
# Each channel's switch; with all of them off nothing is enqueued at all.
ALERT_FLAGS = (
    "email_alert",
    "telegram_alert",
    "slack_alert",
    "rocketchat_alert",
    "microsoft_teams_alert",
    "dingtalk_alert",
    "gotify_alert",
)
JOB_TIMEOUT_SECONDS = 300
FAILED_JOB_TTL_SECONDS = 7 * 24 * 3600


def on_task_status(task_id: int, status: str) -> None:
    """Enqueue the notification job when `status` is one the original notifies of.

    Never raises: a task's outcome stands whatever happens to its notifications.
    """
    if status not in NOTIFIED_STATUSES:
        return
    try:
        config = current_config()
        if not any(getattr(config, flag) for flag in ALERT_FLAGS):
            return
        broker.enqueue(
            SEND_JOB,
            task_id,
            status,
            queue_name=broker.QUEUE_NOTIFICATIONS,
            job_timeout=JOB_TIMEOUT_SECONDS,
            result_ttl=0,
            failure_ttl=FAILED_JOB_TTL_SECONDS,
        )
    except Exception:  # noqa: BLE001 - logged; the task is not failed for it
        log.exception("task %s: could not enqueue its %s notifications", task_id, status)
