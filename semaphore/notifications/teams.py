"""Microsoft Teams: an incoming webhook (`microsoft_teams_url`) given an Adaptive Card.

Teams' classic connectors answer 200 and Power Automate workflows 202; both are success.
"""

from __future__ import annotations

from typing import Any

from semaphore.config import Config
from semaphore.notifications.http import post_json
from semaphore.notifications.message import TaskMessage

NAME = "Microsoft Teams"
FLAG = "microsoft_teams_alert"
CARD_VERSION = "1.4"
TEXT_COLOURS = {"success": "Good", "error": "Attention", "waiting_confirmation": "Warning"}


def enabled(config: Config, message: TaskMessage) -> bool:
    return config.microsoft_teams_alert and bool(config.microsoft_teams_url)


def card(message: TaskMessage) -> dict[str, Any]:
    """The Adaptive Card: a headline, the facts, and a button opening the task."""
    facts = [
        {"title": "Project", "value": message.project_name},
        {"title": "Template", "value": message.template_name},
        {"title": "Task", "value": f"#{message.task_id}"},
        {"title": "Status", "value": message.result},
        {"title": "Author", "value": message.author},
    ]
    if message.version:
        facts.append({"title": "Version", "value": message.version})
    if message.description:
        facts.append({"title": "Message", "value": message.description})
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            {
                "type": "TextBlock",
                "text": message.headline,
                "weight": "Bolder",
                "color": TEXT_COLOURS.get(message.status, "Default"),
                "wrap": True,
            },
            {"type": "FactSet", "facts": facts, "separator": True},
        ],
        "msteams": {"width": "Full"},
    }
    # Teams refuses a card whose button has no absolute URL (web_host not configured).
    if message.link_is_absolute:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open task", "url": message.url}]
    return content


def payload(message: TaskMessage) -> dict[str, Any]:
    """The webhook body: a message with the card as its one attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card(message),
            }
        ],
    }


def send(config: Config, message: TaskMessage) -> None:
    post_json(config.microsoft_teams_url, payload(message))
