"""Test notifications: a project's managers check that its alerts reach their channels.

The original (api/projects/project.go, SendTestNotification) sends synchronously and answers
204, or 409 when the project's alerts are off; its router guards the route with "manage project
resources". Here the sending is an RQ job on the notifications queue, so a slow or dead channel
never holds the request; the job records what each channel did as a project event.
"""

from __future__ import annotations

from semaphore import broker
from semaphore.errors import Conflict
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess

SEND_TEST_JOB = "semaphore.jobs.notifications.send_test_notifications"
ALERTS_OFF = "Alerts are not enabled for this project"
# As for task notifications: every channel has a 10 s timeout, and a failed job is kept a
# week for inspection.
JOB_TIMEOUT_SECONDS = 300
FAILED_JOB_TTL_SECONDS = 7 * 24 * 3600


def send_test_notification(access: ProjectAccess) -> None:
    """Queue a test notification through every channel configured for the project.

    Raises:
        PermissionDenied: the user may not manage the project's resources.
        Conflict: the project's alerts are off (the original's 409).
        ServiceUnavailable: the queue (Redis) cannot be reached; nothing was stored.
    """
    access.require(MANAGE_RESOURCES)
    if not access.project.alert:
        raise Conflict(ALERTS_OFF)
    broker.enqueue(
        SEND_TEST_JOB,
        access.project_id,
        access.user_id,
        queue_name=broker.QUEUE_NOTIFICATIONS,
        job_timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=0,
        failure_ttl=FAILED_JOB_TTL_SECONDS,
    )
