"""Each channel's try is counted in semaphore_notifications_total by channel and outcome
(GET /metrics; in this one test process the counter lives in memory, so it is compared before
and after)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from semaphore.jobs.notifications import notify_task
from tests.notifications.conftest import chat_settings, configure
from tests.processes import free_port


def _count(channel: str, outcome: str) -> float:
    labels = {"channel": channel, "outcome": outcome}
    return REGISTRY.get_sample_value("semaphore_notifications_total", labels) or 0.0


def test_notifications_are_counted_by_channel_and_outcome(app, scene, hooks):
    settings = chat_settings(hooks)
    settings["slack_url"] = f"http://127.0.0.1:{free_port()}/nobody-listens"
    configure(app, **settings)
    channels = ("telegram", "slack", "rocketchat", "teams", "dingtalk", "gotify")
    before = {(c, o): _count(c, o) for c in channels for o in ("sent", "failed")}
    outcomes = notify_task(scene.task("error").id, "error")
    assert [o.channel for o in outcomes if o.error] == ["Slack"]
    after = {key: _count(*key) - value for key, value in before.items()}
    assert after == {
        **{(c, "sent"): 1.0 for c in channels if c != "slack"},
        **{(c, "failed"): 0.0 for c in channels if c != "slack"},
        ("slack", "sent"): 0.0,
        ("slack", "failed"): 1.0,
    }
