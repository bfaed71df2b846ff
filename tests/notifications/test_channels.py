"""Each chat channel's request, as its service documents it, received by a local HTTP server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from semaphore.jobs.notifications import notify_task
from semaphore.services.tasks import output as task_output
from tests.notifications.conftest import WEB_HOST, chat_settings, configure

# Payload formats: nothing here depends on the database dialect.
pytestmark = pytest.mark.single_db


@pytest.fixture
def failed(app, scene, hooks):
    """An `error` task of the scene, its notifications sent to every chat channel."""
    configure(app, **chat_settings(hooks))
    task = scene.task("error", message="disk full", version="1.4.2")
    outcomes = notify_task(task.id, "error")
    link = f"{WEB_HOST}/project/{scene.project.id}/tasks/{task.id}"
    return SimpleNamespace(id=task.id, link=link, outcomes=outcomes)


def _only(hooks, prefix: str):
    requests = hooks.recorder.to(prefix)
    assert len(requests) == 1, [r.path for r in hooks.recorder.requests]
    request = requests[0]
    assert request.method == "POST"
    assert request.headers["content-type"].startswith("application/json")
    return request


def test_slack_gets_one_attachment_with_title_link_colour_and_fields(failed, hooks):
    request = _only(hooks, "/slack/")
    assert request.path == "/slack/T000/B000/secret"
    (attachment,) = request.json()["attachments"]
    assert attachment["title"] == "Task: deploy"
    assert attachment["title_link"] == failed.link
    assert attachment["color"] == "danger"
    assert f"#{failed.id}" in attachment["text"] and "❌ERROR" in attachment["text"]
    assert "Web Shop" in attachment["fallback"] and failed.link in attachment["fallback"]
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields == {
        "Project": "Web Shop",
        "Author": "Ada Lovelace",
        "Version": "1.4.2",
        "Message": "disk full",
    }


def test_teams_gets_an_adaptive_card_in_a_message(failed, hooks):
    body = _only(hooks, "/teams/").json()
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    headline, factset = card["body"]
    assert headline["type"] == "TextBlock" and "Web Shop / deploy" in headline["text"]
    assert factset["type"] == "FactSet"
    facts = {f["title"]: f["value"] for f in factset["facts"]}
    assert facts["Project"] == "Web Shop" and facts["Template"] == "deploy"
    assert facts["Task"] == f"#{failed.id}" and facts["Status"] == "❌ERROR"
    assert facts["Author"] == "Ada Lovelace" and facts["Version"] == "1.4.2"
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open task", "url": failed.link}]


def test_telegram_gets_send_message_with_html_text(failed, hooks):
    request = _only(hooks, "/bot")
    assert request.path == "/bot123:bot-token/sendMessage"
    body = request.json()
    assert body["chat_id"] == "-100200300" and body["parse_mode"] == "HTML"
    text = body["text"]
    assert "<b>Web Shop</b>" in text and "<code>deploy</code>" in text
    assert f"#{failed.id} <b>❌ERROR</b> <code>1.4.2</code> - disk full" in text
    assert "by Ada Lovelace" in text
    assert text.endswith(failed.link)


def test_rocketchat_gets_text_and_an_attachment(failed, hooks):
    body = _only(hooks, "/rocketchat/").json()
    assert "Web Shop / deploy" in body["text"] and "❌ERROR" in body["text"]
    (attachment,) = body["attachments"]
    assert attachment["title"] == "Task: deploy"
    assert attachment["title_link"] == failed.link
    assert attachment["color"] == "#EE0000"
    assert {f["title"]: f["value"] for f in attachment["fields"]}["Author"] == "Ada Lovelace"


def test_dingtalk_gets_a_markdown_message(failed, hooks):
    request = _only(hooks, "/dingtalk/")
    assert request.path == "/dingtalk/robot/send?access_token=t0k"
    body = request.json()
    assert body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"title", "text"}
    assert "Web Shop / deploy" in body["markdown"]["title"]
    text = body["markdown"]["text"]
    for fact in (f"#{failed.id}", "❌ERROR", "Ada Lovelace", "1.4.2", "disk full", failed.link):
        assert fact in text


def test_gotify_gets_a_markdown_message_with_its_token(failed, hooks):
    request = _only(hooks, "/gotify/")
    assert request.path == "/gotify/message?token=app-token"
    body = request.json()
    assert body["title"] == "Task: deploy ❌ERROR"
    assert body["extras"]["client::display"] == {"contentType": "text/markdown"}
    assert body["extras"]["client::notification"] == {"click": {"url": failed.link}}
    for fact in ("Web Shop", f"#{failed.id}", "Ada Lovelace", f"({failed.link})"):
        assert fact in body["message"]


def test_every_outcome_is_written_to_the_task_log(failed):
    assert [o.error for o in failed.outcomes] == [None] * 6
    lines = [line.output for line in task_output.read_lines(failed.id)]
    assert lines == [
        "Sent the Telegram notification",
        "Sent the Slack notification",
        "Sent the Rocket.Chat notification",
        "Sent the Microsoft Teams notification",
        "Sent the DingTalk notification",
        "Sent the Gotify notification",
    ]


def test_success_and_waiting_confirmation_have_their_colours_and_results(app, scene, hooks):
    configure(app, **chat_settings(hooks))
    done = scene.task("success")
    notify_task(done.id, "success")
    waiting = scene.task("waiting_confirmation")
    notify_task(waiting.id, "waiting_confirmation")
    slack = [r.json()["attachments"][0] for r in hooks.recorder.to("/slack/")]
    assert [a["color"] for a in slack] == ["good", "#FFFC33"]
    assert "✅SUCCESS" in slack[0]["text"] and "⚠️WAITING_CONFIRMATION" in slack[1]["text"]
    rocket = [r.json()["attachments"][0]["color"] for r in hooks.recorder.to("/rocketchat/")]
    assert rocket == ["#00EE00", "#FFFC33"]


def test_no_author_no_version_and_no_web_host(app, scene, hooks):
    configure(app, **chat_settings(hooks), web_host="")
    task = scene.task("error", user_id=None)
    notify_task(task.id, "error")
    attachment = hooks.recorder.to("/slack/")[0].json()["attachments"][0]
    assert attachment["title_link"] == f"/project/{scene.project.id}/tasks/{task.id}"
    assert {f["title"]: f["value"] for f in attachment["fields"]} == {
        "Project": "Web Shop",
        "Author": "—",
    }
    # A card button needs an absolute URL: Teams refuses a card with a path only.
    card = hooks.recorder.to("/teams/")[0].json()["attachments"][0]["content"]
    assert "actions" not in card
    assert "client::notification" not in hooks.recorder.to("/gotify/")[0].json()["extras"]


def test_values_are_escaped_in_telegram_html(app, scene, hooks):
    configure(app, **chat_settings(hooks))
    scene.template.name = "a<b>&c"
    task = scene.task("error", message="<script>")
    notify_task(task.id, "error")
    text = hooks.recorder.to("/bot")[0].json()["text"]
    assert "<code>a&lt;b&gt;&amp;c</code>" in text and "&lt;script&gt;" in text
