from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from semaphore.extensions import db
from semaphore.models import Project, Task, Template, User
from tests import factories
from tests.notifications.servers import HookServer, Mailbox, smtp_server

WEB_HOST = "https://semaphore.example.com/ui"


@pytest.fixture
def hooks() -> Iterator[HookServer]:
    server = HookServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A plain SMTP server (no TLS, no AUTH) that keeps what it receives."""
    box = Mailbox()
    controller = smtp_server(box)
    box.port = controller.port
    yield box
    controller.stop()


def configure(app, **overrides) -> None:
    """Change the running app's Config (notification settings are read at send time)."""
    app.config["SEMAPHORE"] = app.config["SEMAPHORE"].with_overrides(**overrides)


def chat_settings(hooks: HookServer) -> dict:
    """Every chat channel switched on, each pointing at its own path of the hook server."""
    return {
        "telegram_alert": True,
        "telegram_token": "123:bot-token",
        "telegram_chat": "-100200300",
        "telegram_api_url": hooks.url,
        "slack_alert": True,
        "slack_url": f"{hooks.url}/slack/T000/B000/secret",
        "rocketchat_alert": True,
        "rocketchat_url": f"{hooks.url}/rocketchat/hooks/abc",
        "microsoft_teams_alert": True,
        "microsoft_teams_url": f"{hooks.url}/teams/webhook",
        "dingtalk_alert": True,
        "dingtalk_url": f"{hooks.url}/dingtalk/robot/send?access_token=t0k",
        "gotify_alert": True,
        "gotify_url": f"{hooks.url}/gotify/",
        "gotify_token": "app-token",
    }


def email_settings(port: int, **extra) -> dict:
    return {
        "email_alert": True,
        "email_host": "127.0.0.1",
        "email_port": port,
        "email_sender": "semaphore@example.com",
        **extra,
    }


@dataclass
class Scene:
    project: Project
    template: Template
    author: User
    member_alert: User
    member_quiet: User
    admin_alert: User
    admin_quiet: User
    outsider_alert: User

    def task(self, status: str = "error", **fields) -> Task:
        fields.setdefault("user_id", self.author.id)
        task = Task(
            template_id=self.template.id,
            project_id=self.project.id,
            status=status,
            playbook=self.template.playbook,
            **fields,
        )
        db.session.add(task)
        db.session.commit()
        return task


@pytest.fixture
def scene(app) -> Scene:
    """A project with alerts on, a template, and users with and without alerts, in and out."""
    author = factories.user(name="Ada Lovelace")
    member_alert = factories.user(alert=True)
    member_quiet = factories.user(alert=False)
    admin_alert = factories.user(admin=True, alert=True)
    admin_quiet = factories.user(admin=True, alert=False)
    outsider_alert = factories.user(alert=True)
    project = factories.project(
        name="Web Shop",
        alert=True,
        members={author: "owner", member_alert: "task_runner", member_quiet: "guest"},
    )
    template = factories.template(project=project, name="deploy", app="bash", playbook="d.sh")
    configure(app, web_host=WEB_HOST)
    return Scene(
        project,
        template,
        author,
        member_alert,
        member_quiet,
        admin_alert,
        admin_quiet,
        outsider_alert,
    )
