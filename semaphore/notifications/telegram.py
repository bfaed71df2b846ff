"""Telegram: the Bot API's sendMessage, as HTML, to the project's chat or the default one."""

from __future__ import annotations

import html
from typing import Any

from semaphore.config import Config
from semaphore.notifications.http import post_json
from semaphore.notifications.message import TaskMessage

NAME = "Telegram"
FLAG = "telegram_alert"


def chat_id(config: Config, message: TaskMessage) -> str:
    """The project's `alert_chat`, else `telegram_chat` ("" = nowhere to send)."""
    return message.alert_chat or config.telegram_chat


def enabled(config: Config, message: TaskMessage) -> bool:
    return config.telegram_alert and bool(config.telegram_token and chat_id(config, message))


def text(message: TaskMessage) -> str:
    """The message in Telegram's HTML subset, every value escaped."""
    e = html.escape
    lines = [
        f"<b>{e(message.project_name)}</b> / <code>{e(message.template_name)}</code>",
        f"#{message.task_id} <b>{e(message.result)}</b>"
        + (f" <code>{e(message.version)}</code>" if message.version else "")
        + (f" - {e(message.description)}" if message.description else ""),
        f"by {e(message.author)}",
        e(message.url),
    ]
    return "\n".join(lines)


def payload(config: Config, message: TaskMessage) -> dict[str, Any]:
    return {"chat_id": chat_id(config, message), "parse_mode": "HTML", "text": text(message)}


def endpoint(config: Config) -> str:
    """sendMessage on the configured Bot API server (api.telegram.org unless changed)."""
    return f"{config.telegram_api_url.rstrip('/')}/bot{config.telegram_token}/sendMessage"


def send(config: Config, message: TaskMessage) -> None:
    post_json(endpoint(config), payload(config, message))
