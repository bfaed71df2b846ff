"""Slack: an incoming webhook (`slack_url`) given one message attachment."""

from __future__ import annotations

from typing import Any

from semaphore.config import Config
from semaphore.notifications.http import post_json
from semaphore.notifications.message import TaskMessage

NAME = "Slack"
FLAG = "slack_alert"
# The original's attachment colours: Slack's named `good`/`danger`, and its "waiting" yellow.
COLOURS = {"success": "good", "error": "danger", "waiting_confirmation": "#FFFC33"}


def enabled(config: Config, message: TaskMessage) -> bool:
    return config.slack_alert and bool(config.slack_url)


def payload(message: TaskMessage) -> dict[str, Any]:
    """The webhook body: one attachment with a title linking the task, and short fields."""
    fields = [
        {"title": "Project", "value": message.project_name, "short": True},
        {"title": "Author", "value": message.author, "short": True},
    ]
    if message.version:
        fields.append({"title": "Version", "value": message.version, "short": True})
    if message.description:
        fields.append({"title": "Message", "value": message.description, "short": False})
    attachment = {
        "fallback": f"{message.headline} {message.url}",
        "color": COLOURS.get(message.status, ""),
        "title": f"Task: {message.template_name}",
        "title_link": message.url,
        "text": f"Task #{message.task_id} of {message.template_name}: {message.result}",
        "fields": fields,
        "mrkdwn_in": ["text"],
    }
    return {"attachments": [attachment]}


def send(config: Config, message: TaskMessage) -> None:
    post_json(config.slack_url, payload(message))
