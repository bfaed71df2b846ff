"""When notifications fire (the original's rules), and that a failing channel harms nothing."""

from __future__ import annotations

import logging

import pytest

from semaphore.config import current_config
from semaphore.extensions import db
from semaphore.jobs.notifications import notify_task
from semaphore.models import Task
from semaphore.notifications.message import build_message
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.notifications.conftest import chat_settings, configure, email_settings
from tests.notifications.servers import dead_url
from tests.processes import free_port


def _paths(hooks) -> list[str]:
    return sorted(r.path.split("/")[1] for r in hooks.recorder.requests)


ALL_CHAT = sorted(["bot123:bot-token", "slack", "rocketchat", "teams", "dingtalk", "gotify"])


def test_nothing_is_sent_when_the_project_has_alerts_off(app, scene, hooks, mailbox):
    configure(app, **chat_settings(hooks), **email_settings(mailbox.port))
    scene.project.alert = False
    task = scene.task("error")
    assert notify_task(task.id, "error") == []
    assert hooks.recorder.requests == [] and mailbox.deliveries == []
    assert task_output.read_lines(task.id) == []


@pytest.mark.single_db
@pytest.mark.parametrize(
    ("flag", "path"),
    [
        ("telegram_alert", "bot123:bot-token"),
        ("slack_alert", "slack"),
        ("rocketchat_alert", "rocketchat"),
        ("microsoft_teams_alert", "teams"),
        ("dingtalk_alert", "dingtalk"),
        ("gotify_alert", "gotify"),
    ],
)
def test_a_channel_switched_off_is_not_sent(app, scene, hooks, flag, path):
    configure(app, **{**chat_settings(hooks), flag: False})
    task = scene.task("error")
    notify_task(task.id, "error")
    assert _paths(hooks) == sorted(p for p in ALL_CHAT if p != path)


def test_success_is_announced_unless_the_template_suppresses_it(app, scene, hooks, mailbox):
    configure(app, **chat_settings(hooks), **email_settings(mailbox.port))
    task = scene.task("success")
    notify_task(task.id, "success")
    assert _paths(hooks) == ALL_CHAT
    assert mailbox.deliveries == []  # e-mail is for failures only
    hooks.recorder.requests.clear()
    scene.template.suppress_success_alerts = True
    quiet = scene.task("success")
    assert notify_task(quiet.id, "success") == []
    assert hooks.recorder.requests == []
    failed = scene.task("error")  # suppression is about successes only
    notify_task(failed.id, "error")
    assert _paths(hooks) == ALL_CHAT


def test_waiting_for_confirmation_goes_to_chat_not_email_nor_the_log(app, scene, hooks, mailbox):
    configure(app, **chat_settings(hooks), **email_settings(mailbox.port))
    task = scene.task("waiting_confirmation")
    outcomes = notify_task(task.id, "waiting_confirmation")
    assert len(outcomes) == 6 and _paths(hooks) == ALL_CHAT
    assert mailbox.deliveries == []
    # The task's worker is still writing its log: the notification job leaves it alone.
    assert task_output.read_lines(task.id) == []


def test_stopped_is_not_announced(app, scene, hooks):
    configure(app, **chat_settings(hooks))
    task = scene.task("stopped")
    assert notify_task(task.id, "stopped") == []
    assert hooks.recorder.requests == []


def test_telegram_chat_is_the_project_alert_chat_else_the_default(app, scene, hooks):
    configure(app, **chat_settings(hooks))
    scene.project.alert_chat = "@webshop_ops"
    task = scene.task("error")
    notify_task(task.id, "error")
    assert hooks.recorder.to("/bot")[0].json()["chat_id"] == "@webshop_ops"
    scene.project.alert_chat = None
    configure(app, telegram_chat="")
    other = scene.task("error")
    outcomes = notify_task(other.id, "error")
    assert len(hooks.recorder.to("/bot")) == 1  # no chat anywhere: Telegram is skipped
    assert "Telegram" not in [o.channel for o in outcomes]


def test_a_dead_or_failing_channel_is_logged_and_the_others_still_sent(
    app, scene, hooks, mailbox, caplog
):
    configure(app, **chat_settings(hooks), **email_settings(mailbox.port))
    configure(app, slack_url=dead_url(), gotify_url=dead_url())
    hooks.recorder.answers["/teams/"] = (500, b"card rejected")
    hooks.recorder.answers["/dingtalk/"] = (200, b'{"errcode": 310000, "errmsg": "keywords"}')
    task = scene.task("error")
    with caplog.at_level(logging.WARNING, logger="semaphore.notifications"):
        outcomes = notify_task(task.id, "error")
    errors = {o.channel: o.error for o in outcomes}
    assert errors["e-mail"] is None and errors["Telegram"] is None
    assert errors["Rocket.Chat"] is None
    assert errors["Slack"].startswith("unreachable:")
    assert errors["Gotify"].startswith("unreachable:")
    assert errors["Microsoft Teams"] == "answered HTTP 500: card rejected"
    assert errors["DingTalk"] == "refused: 310000 keywords"
    assert len(mailbox.deliveries) == 2
    assert _paths(hooks) == ["bot123:bot-token", "dingtalk", "rocketchat", "teams"]
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "error"
    lines = [line.output for line in task_output.read_lines(task.id)]
    assert "Sent the e-mail notification to 2 recipients" in lines
    assert any(
        line.startswith("Could not send the Slack notification: unreachable") for line in lines
    )
    logged = caplog.text
    assert "Slack notification failed" in logged and "DingTalk notification failed" in logged
    # Webhook URLs and tokens are secrets: they are in no log.
    assert "secret" not in logged and "app-token" not in logged and "bot-token" not in logged


def test_a_dead_smtp_server_leaves_the_chat_channels_working(app, scene, hooks):
    configure(app, **chat_settings(hooks), **email_settings(free_port()))  # nothing listens
    task = scene.task("error")
    outcomes = notify_task(task.id, "error")
    assert outcomes[0].channel == "e-mail" and outcomes[0].error
    assert _paths(hooks) == ALL_CHAT


@pytest.mark.single_db
def test_only_http_urls_are_posted_to(app, scene, hooks, tmp_path):
    configure(app, **{**chat_settings(hooks), "slack_url": f"file://{tmp_path}/x"})
    task = scene.task("error")
    outcomes = notify_task(task.id, "error")
    assert {o.channel: o.error for o in outcomes}["Slack"] == (
        "the URL is not an http:// or https:// URL"
    )


def test_version_is_the_tasks_or_the_build_it_deploys(app, scene):
    config = current_config()
    build_template = factories.template(project=scene.project, name="build", type="build")
    deploy_template = factories.template(project=scene.project, name="ship", type="deploy")
    build = Task(
        template_id=build_template.id, project_id=scene.project.id, status="success", version="7"
    )
    db.session.add(build)
    db.session.flush()
    deploy = Task(
        template_id=deploy_template.id,
        project_id=scene.project.id,
        status="error",
        build_task_id=build.id,
    )
    plain = Task(template_id=scene.template.id, project_id=scene.project.id, status="error")
    db.session.add_all([deploy, plain])
    db.session.commit()
    assert build_message(config, build, scene.project, "success").version == "7"
    assert build_message(config, deploy, scene.project, "error").version == "build 7"
    message = build_message(config, plain, scene.project, "error")
    assert message.version == "" and message.author == "—"
    assert message.result == "❌ERROR"
    assert build_message(config, plain, scene.project, "stopped").result == "⏹️STOPPED"
