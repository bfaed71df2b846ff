"""Gotify: POST <gotify_url>/message?token=<gotify_token>, the message in markdown."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from semaphore.config import Config
from semaphore.notifications.http import post_json
from semaphore.notifications.message import TaskMessage

NAME = "Gotify"
FLAG = "gotify_alert"


def enabled(config: Config, message: TaskMessage) -> bool:
    return config.gotify_alert and bool(config.gotify_url)


def markdown(message: TaskMessage) -> str:
    lines = [
        f"**{message.project_name}** / **{message.template_name}**  ",
        f"Task #{message.task_id}: **{message.result}**  ",
        f"Author: {message.author}  ",
    ]
    if message.version:
        lines.append(f"Version: {message.version}  ")
    if message.description:
        lines.append(f"Message: {message.description}  ")
    lines.append(f"[Open task]({message.url})")
    return "\n".join(lines)


def payload(message: TaskMessage) -> dict[str, Any]:
    extras: dict[str, Any] = {"client::display": {"contentType": "text/markdown"}}
    if message.link_is_absolute:
        extras["client::notification"] = {"click": {"url": message.url}}
    return {
        "title": f"Task: {message.template_name} {message.result}",
        "message": markdown(message),
        "extras": extras,
    }


def endpoint(config: Config) -> str:
    return f"{config.gotify_url.rstrip('/')}/message?token={quote(config.gotify_token, safe='')}"


def send(config: Config, message: TaskMessage) -> None:
    post_json(endpoint(config), payload(message))
