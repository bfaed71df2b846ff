"""Notifications travel as their own RQ job, enqueued when a task's status is committed."""

from __future__ import annotations

from pathlib import Path

import pytest
from rq import SimpleWorker

from semaphore import broker, notifications
from semaphore.errors import ServiceUnavailable
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import TaskJob
from semaphore.models import Task
from semaphore.queue import dispatch as task_queue
from semaphore.scheduler import recovery as task_recovery
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.notifications.conftest import chat_settings, configure, email_settings
from tests.notifications.servers import dead_url

SCRIPTS = {"fail.sh": "echo about to fail\nexit 3\n", "ok.sh": "echo fine\n"}


def _queued() -> list[tuple]:
    jobs = broker.queue(broker.QUEUE_NOTIFICATIONS).jobs
    assert all(job.func_name == notifications.SEND_JOB for job in jobs)
    return [tuple(job.args) for job in jobs]


def _drain(app, queue_name: str) -> None:
    runtime.set_app(app)
    worker = SimpleWorker([broker.queue(queue_name)], connection=broker.connection())
    worker.work(burst=True)


def test_notified_statuses_are_enqueued_when_a_channel_is_on(app, scene):
    notifications.on_task_status(1, "error")
    assert _queued() == []  # every channel off: no job at all
    configure(app, slack_alert=True)
    for status in ("running", "stopped", "error", "success", "waiting_confirmation", "confirmed"):
        notifications.on_task_status(7, status)
    assert _queued() == [(7, "error"), (7, "success"), (7, "waiting_confirmation")]


def test_an_unreachable_queue_is_logged_and_not_raised(app, monkeypatch, caplog):
    configure(app, email_alert=True)

    def refuse(*args, **kwargs):
        raise ServiceUnavailable("the task queue (Redis) is unreachable")

    monkeypatch.setattr(broker, "enqueue", refuse)
    notifications.on_task_status(3, "error")
    assert "could not enqueue" in caplog.text


def test_the_alert_flags_are_every_channels_switch():
    from semaphore.notifications import dispatch

    channel_flags = {channel.FLAG for channel in dispatch.CHAT_CHANNELS}
    assert set(notifications.ALERT_FLAGS) == channel_flags | {dispatch.email_channel.FLAG}


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("scripts"), SCRIPTS, "scripts")


def _run(scene, script_repo, script: str) -> Task:
    repository = factories.repository(
        project=scene.project, git_url=f"file://{script_repo}", git_branch="main"
    )
    scene.template.repository_id = repository.id
    scene.template.inventory_id = None
    scene.template.playbook = script
    db.session.commit()
    access = project_access(scene.author, scene.project.id)
    return tasks.create_task(access, {"template_id": scene.template.id})


def test_a_real_failed_task_is_announced_by_the_notification_job(
    app, scene, hooks, mailbox, script_repo
):
    configure(app, **chat_settings(hooks), **email_settings(mailbox.port))
    task = _run(scene, script_repo, "fail.sh")
    _drain(app, broker.QUEUE_TASKS)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "error"
    # The task's own job sent nothing: it only enqueued the notification job.
    assert _queued() == [(task.id, "error")]
    assert hooks.recorder.requests == [] and mailbox.deliveries == []
    _drain(app, broker.QUEUE_NOTIFICATIONS)
    subjects = [d.message["Subject"] for d in mailbox.deliveries]
    assert subjects == ["Task 'deploy' failed"] * 2
    slack = hooks.recorder.to("/slack/")[0].json()["attachments"][0]
    assert slack["color"] == "danger" and f"/tasks/{task.id}" in slack["title_link"]
    assert len(hooks.recorder.requests) == 6
    lines = [line.output for line in task_output.read_lines(task.id)]
    assert "about to fail" in lines
    assert lines[-1] == "Sent the Gotify notification"


def test_a_dead_channel_leaves_the_tasks_status_untouched(app, scene, hooks, script_repo):
    configure(app, **chat_settings(hooks))
    configure(app, slack_url=dead_url(), microsoft_teams_url=dead_url())
    task = _run(scene, script_repo, "ok.sh")
    _drain(app, broker.QUEUE_TASKS)
    _drain(app, broker.QUEUE_NOTIFICATIONS)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "success"
    assert len(hooks.recorder.requests) == 4  # the four live channels
    failed = broker.queue(broker.QUEUE_NOTIFICATIONS).failed_job_registry
    assert failed.count == 0  # channel failures are reported, not raised
    lines = [line.output for line in task_output.read_lines(task.id)]
    assert any(line.startswith("Could not send the Slack notification") for line in lines)


def test_waiting_for_confirmation_is_announced_while_the_task_waits(app, scene):
    configure(app, telegram_alert=True)
    task = scene.task("running")
    TaskJob(task.id)._set_status("waiting_confirmation")
    assert _queued() == [(task.id, "waiting_confirmation")]


def test_a_task_ended_by_recovery_is_announced_as_failed(app, scene, monkeypatch):
    configure(app, email_alert=True)
    task = scene.task("waiting")
    assert task_queue.claim(task.id)
    broker.connection().delete(task_queue.alive_key(task.id))
    monkeypatch.setattr(task_recovery, "LAPSE_SECONDS", 0.0)
    task_recovery.Recovery().recover()
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "error"
    assert _queued() == [(task.id, "error")]
