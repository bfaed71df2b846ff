"""Rocket.Chat: an incoming webhook (`rocketchat_url`) given text and one attachment."""

from __future__ import annotations

from typing import Any

from semaphore.config import Config
from semaphore.notifications.http import post_json
from semaphore.notifications.message import TaskMessage

NAME = "Rocket.Chat"
FLAG = "rocketchat_alert"
# The original's colours; its "waiting" yellow for a task waiting for confirmation.
COLOURS = {"success": "#00EE00", "error": "#EE0000", "waiting_confirmation": "#FFFC33"}


def enabled(config: Config, message: TaskMessage) -> bool:
    return config.rocketchat_alert and bool(config.rocketchat_url)


def payload(message: TaskMessage) -> dict[str, Any]:
    """The webhook body: the headline as text, the details in an attachment."""
    fields = [{"short": True, "title": "Author", "value": message.author}]
    if message.version:
        fields.append({"short": True, "title": "Version", "value": message.version})
    if message.description:
        fields.append({"short": False, "title": "Message", "value": message.description})
    attachment = {
        "title": f"Task: {message.template_name}",
        "title_link": message.url,
        "text": f"Task #{message.task_id} in {message.project_name}: {message.result}",
        "color": COLOURS.get(message.status, ""),
        "fields": fields,
    }
    return {"text": message.headline, "attachments": [attachment]}


def send(config: Config, message: TaskMessage) -> None:
    post_json(config.rocketchat_url, payload(message))
