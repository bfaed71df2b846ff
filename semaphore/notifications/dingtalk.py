"""DingTalk: a custom robot's webhook (`dingtalk_url`) given a markdown message.

The robot answers HTTP 200 even when it refuses a message (a missing keyword, a bad
signature): the refusal is in the body's `errcode`, so that is checked too.
"""

from __future__ import annotations

import json
from typing import Any

from semaphore.config import Config
from semaphore.notifications.http import NotificationError, post_json
from semaphore.notifications.message import TaskMessage

NAME = "DingTalk"
FLAG = "dingtalk_alert"


def enabled(config: Config, message: TaskMessage) -> bool:
    return config.dingtalk_alert and bool(config.dingtalk_url)


def markdown(message: TaskMessage) -> str:
    lines = [
        f"#### {message.project_name} / {message.template_name}",
        "",
        f"- **Task:** #{message.task_id}",
        f"- **Status:** {message.result}",
        f"- **Author:** {message.author}",
    ]
    if message.version:
        lines.append(f"- **Version:** {message.version}")
    if message.description:
        lines.append(f"- **Message:** {message.description}")
    lines += ["", f"[{message.url}]({message.url})"]
    return "\n".join(lines)


def payload(message: TaskMessage) -> dict[str, Any]:
    return {
        "msgtype": "markdown",
        "markdown": {"title": message.headline, "text": markdown(message)},
    }


def send(config: Config, message: TaskMessage) -> None:
    body = post_json(config.dingtalk_url, payload(message))
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return  # not the robot's JSON (a proxy?): HTTP 200 is all we can judge by
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        raise NotificationError(f"refused: {answer.get('errcode')} {answer.get('errmsg', '')}")
