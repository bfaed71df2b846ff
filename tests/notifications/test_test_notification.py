"""POST /api/project/{id}/notifications/test: a test message through every configured channel.

The request only enqueues the job (204, or 409 when the project's alerts are off); the job,
run here by a real RQ worker, sends through the local SMTP and HTTP servers and records what
each channel did as one project event.
"""

from __future__ import annotations

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.models import Event, Project, ProjectUser
from semaphore.notifications import dispatch
from semaphore.notifications.dispatch import Outcome
from semaphore.services import notification_tests
from tests import factories
from tests.notifications.conftest import WEB_HOST, chat_settings, configure, email_settings
from tests.notifications.servers import dead_url
from tests.processes import free_port

SENTENCE = "Test notification from Semaphore for project Web Shop, requested by Ada Lovelace"
ALL_SENT = (
    "Test notification: sent via e-mail (to 2 recipients), Telegram, Slack, Rocket.Chat, "
    "Microsoft Teams, DingTalk, Gotify"
)


def _url(scene) -> str:
    return f"/api/project/{scene.project.id}/notifications/test"


def _queued() -> list[tuple]:
    jobs = broker.queue(broker.QUEUE_NOTIFICATIONS).jobs
    assert all(job.func_name == notification_tests.SEND_TEST_JOB for job in jobs)
    return [tuple(job.args) for job in jobs]


def _drain(app) -> None:
    runtime.set_app(app)
    queue = broker.queue(broker.QUEUE_NOTIFICATIONS)
    SimpleWorker([queue], connection=broker.connection()).work(burst=True)
    assert queue.failed_job_registry.count == 0  # channel failures are recorded, not raised
    db.session.expire_all()


def _events(scene) -> list[Event]:
    query = select(Event).where(Event.project_id == scene.project.id).order_by(Event.id)
    return list(db.session.scalars(query))


def _send(app, scene):
    response = factories.api_client(app, scene.author).post(_url(scene))
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.get_data() == b""
    return response


def test_alerts_off_answers_409_and_enqueues_nothing(app, scene, hooks):
    configure(app, **chat_settings(hooks))
    db.session.get(Project, scene.project.id).alert = False
    db.session.commit()
    response = factories.api_client(app, scene.author).post(_url(scene))
    assert response.status_code == 409
    assert response.get_json() == {"error": "Alerts are not enabled for this project"}
    assert _queued() == []
    _drain(app)
    assert hooks.recorder.requests == [] and _events(scene) == []


def test_the_test_reaches_every_channel_and_is_recorded(app, scene, hooks, mailbox):
    configure(app, **chat_settings(hooks), **email_settings(mailbox.port))
    _send(app, scene)
    # The request only queued the job, with ids.
    assert _queued() == [(scene.project.id, scene.author.id)]
    assert hooks.recorder.requests == [] and mailbox.deliveries == []

    _drain(app)
    # E-mail: the failure alerts' recipients (members and admins with alerts on).
    assert sorted(d.rcpt_tos[0] for d in mailbox.deliveries) == sorted(
        [scene.member_alert.email, scene.admin_alert.email]
    )
    body = mailbox.deliveries[0].message.get_body(("plain",)).get_content()
    assert SENTENCE in body and f"{WEB_HOST}/project/{scene.project.id}/activity" in body
    assert "failed" not in body
    subject = mailbox.deliveries[0].message["Subject"]
    assert subject == "Test notification from Semaphore for project 'Web Shop'"
    # Chat: each configured channel got one request naming the project and who asked.
    assert len(hooks.recorder.requests) == 6
    (slack,) = hooks.recorder.to("/slack/")
    (attachment,) = slack.json()["attachments"]
    assert attachment["fallback"].startswith(SENTENCE)
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Project"] == "Web Shop" and fields["Message"] == SENTENCE
    assert fields["Author"] == "Ada Lovelace"
    assert attachment["title_link"] == f"{WEB_HOST}/project/{scene.project.id}/activity"
    (telegram,) = hooks.recorder.to("/bot")
    assert telegram.json()["chat_id"] == "-100200300" and SENTENCE in telegram.json()["text"]
    (teams,) = hooks.recorder.to("/teams/")
    assert teams.json()["attachments"][0]["content"]["body"][0]["text"] == SENTENCE

    (event,) = _events(scene)
    assert event.description == ALL_SENT
    assert (event.object_type, event.object_id) == ("project", scene.project.id)
    assert event.user_id == scene.author.id
    listed = factories.api_client(app, scene.member_quiet).get(
        f"/api/project/{scene.project.id}/events"
    )
    assert [e["description"] for e in listed.get_json()] == [ALL_SENT]


def test_a_failing_channel_is_recorded_while_the_others_send(app, scene, hooks, mailbox):
    configure(app, **chat_settings(hooks), **email_settings(free_port()))  # nothing listens
    configure(app, slack_url=dead_url())
    _send(app, scene)
    _drain(app)
    assert mailbox.deliveries == [] and hooks.recorder.to("/slack/") == []
    assert len(hooks.recorder.requests) == 5  # every other chat channel
    (event,) = _events(scene)
    text = event.description
    assert text.startswith(
        "Test notification: sent via Telegram, Rocket.Chat, Microsoft Teams, DingTalk, Gotify; "
        "could not send via e-mail: "
    )
    assert "; could not send via Slack: unreachable: " in text
    assert "refused" in text.lower()
    for secret in ("://", "@", "127.0.0.1", "bot-token", "app-token", "secret", "t0k"):
        assert secret not in text, secret


def test_with_no_channel_configured_the_event_says_so(app, scene, hooks):
    _send(app, scene)
    _drain(app)
    assert hooks.recorder.requests == []
    assert [e.description for e in _events(scene)] == [
        "Test notification: no channel is configured"
    ]


def test_the_projects_alert_chat_gets_the_telegram_message(app, scene, hooks):
    configure(app, **chat_settings(hooks))
    db.session.get(Project, scene.project.id).alert_chat = "-999"
    db.session.commit()
    _send(app, scene)
    _drain(app)
    (telegram,) = hooks.recorder.to("/bot")
    assert telegram.json()["chat_id"] == "-999"


def test_e_mail_with_no_recipient_is_recorded_as_not_sent(app, scene, mailbox):
    configure(app, **email_settings(mailbox.port))
    for user in (scene.member_alert, scene.admin_alert):
        db.session.merge(user).alert = False
    db.session.commit()
    _send(app, scene)
    _drain(app)
    assert mailbox.deliveries == []
    assert [e.description for e in _events(scene)] == [
        "Test notification: could not send via e-mail: "
        "no project member or administrator has alerts on"
    ]


def test_alerts_turned_off_before_the_job_runs_send_nothing(app, scene, hooks):
    configure(app, **chat_settings(hooks))
    _send(app, scene)
    db.session.get(Project, scene.project.id).alert = False
    db.session.commit()
    _drain(app)
    assert hooks.recorder.requests == [] and _events(scene) == []


@pytest.mark.single_db
def test_the_summary_hides_urls_addresses_and_configured_secrets(app, hooks):
    configure(app, **chat_settings(hooks))
    config = app.config["SEMAPHORE"]
    outcomes = [
        Outcome("e-mail", "SMTP 550 <ops@example.com> refused", ""),
        Outcome("Slack", f"answered HTTP 404: no such hook {config.slack_url}"),
        Outcome("Telegram", "answered HTTP 401: bad token 123:bot-token"),
        Outcome("Gotify"),
    ]
    text = dispatch.summary_of_test(config, outcomes)
    assert text == (
        "Test notification: sent via Gotify; could not send via e-mail: SMTP 550 [address] "
        "refused; could not send via Slack: answered HTTP 404: no such hook [hidden]; "
        "could not send via Telegram: answered HTTP 401: bad token [hidden]"
    )


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("owner", 204),
        ("manager", 204),
        ("admin", 204),
        ("task_runner", 403),
        ("guest", 403),
        ("outsider", 404),
        ("anonymous", 401),
    ],
)
def test_who_may_send_a_test_notification(app, api, scene, caller, status):
    """The original's router guards the route with "manage project resources"."""
    manager = factories.user()
    db.session.add(ProjectUser(project_id=scene.project.id, user_id=manager.id, role="manager"))
    db.session.commit()
    users = {
        "owner": scene.author,
        "manager": manager,
        "admin": scene.admin_quiet,  # an administrator who is not a member
        "task_runner": scene.member_alert,
        "guest": scene.member_quiet,
        "outsider": scene.outsider_alert,
    }
    user = users.get(caller)
    client = factories.api_client(app, user) if user is not None else api
    response = client.post(_url(scene))
    assert response.status_code == status, response.get_data(as_text=True)
    assert _queued() == ([(scene.project.id, user.id)] if status == 204 else [])


@pytest.mark.parametrize("config_overrides", [{"redis_url": "redis://127.0.0.1:9/0"}])
def test_an_unreachable_queue_answers_503(app, scene):
    response = factories.api_client(app, scene.author).post(_url(scene))
    assert response.status_code == 503
    assert "Redis" in response.get_json()["error"]
