"""The failure e-mail, received by a real SMTP server (aiosmtpd) on a loopback port."""

from __future__ import annotations

import pytest

from semaphore.jobs.notifications import notify_task
from semaphore.services.tasks import output as task_output
from tests.notifications.conftest import WEB_HOST, configure, email_settings
from tests.notifications.servers import (
    Mailbox,
    PasswordCheck,
    self_signed_certificate,
    smtp_server,
)


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_a_failed_task_emails_members_and_admins_with_alerts_on(app, scene, mailbox):
    configure(app, **email_settings(mailbox.port))
    task = scene.task("error", message="disk full")
    (outcome,) = notify_task(task.id, "error")
    assert outcome.error is None
    recipients = sorted(address for d in mailbox.deliveries for address in d.rcpt_tos)
    assert recipients == sorted([scene.member_alert.email, scene.admin_alert.email])
    assert len(mailbox.deliveries) == 2  # one e-mail per recipient: no one sees the others
    delivery = mailbox.to(scene.member_alert.email)[0]
    message = delivery.message
    assert delivery.mail_from == "semaphore@example.com"
    assert not delivery.tls and delivery.login is None
    assert message["Subject"] == "Task 'deploy' failed"
    assert message["From"] == "semaphore@example.com"
    assert message["To"] == scene.member_alert.email
    html = _html(message)
    link = f"{WEB_HOST}/project/{scene.project.id}/tasks/{task.id}"
    assert f'<a href="{link}">' in html
    for fact in ("Web Shop", "deploy", f"#{task.id}", "❌ERROR", "Ada Lovelace", "disk full"):
        assert fact in html
    assert link in message.get_body(preferencelist=("plain",)).get_content()
    lines = [line.output for line in task_output.read_lines(task.id)]
    assert lines == ["Sent the e-mail notification to 2 recipients"]


@pytest.mark.parametrize("status", ["success", "waiting_confirmation", "stopped"])
def test_only_a_failure_is_emailed(app, scene, mailbox, status):
    configure(app, **email_settings(mailbox.port))
    task = scene.task(status)
    assert notify_task(task.id, status) == []
    assert mailbox.deliveries == []


def test_no_email_without_the_project_alert_or_email_alert(app, scene, mailbox):
    configure(app, **email_settings(mailbox.port))
    scene.project.alert = False
    task = scene.task("error")
    notify_task(task.id, "error")
    configure(app, email_alert=False)
    scene.project.alert = True
    other = scene.task("error")
    notify_task(other.id, "error")
    assert mailbox.deliveries == []


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    cert = self_signed_certificate(tmp_path / "tls")
    # The client trusts this certificate as it would a real CA's: through OpenSSL's default
    # verify paths, which SSL_CERT_FILE replaces. Product code verifies as usual.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert_file))
    return cert


@pytest.mark.single_db
def test_secure_uses_starttls_then_logs_in(app, scene, certificate):
    box = Mailbox()
    controller = smtp_server(
        box,
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=PasswordCheck("mailer", "s3cret"),
        auth_required=True,
    )
    try:
        settings = email_settings(
            controller.port,
            email_secure=True,
            email_username="mailer",
            email_password="s3cret",
        )
        configure(app, **settings)
        task = scene.task("error")
        (outcome,) = notify_task(task.id, "error")
    finally:
        controller.stop()
    assert outcome.error is None
    assert len(box.deliveries) == 2
    assert all(d.tls and d.login == "mailer" for d in box.deliveries)


@pytest.mark.single_db
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_secure_with_tls_speaks_tls_from_the_start(app, scene, certificate):
    box = Mailbox()
    controller = smtp_server(
        box,
        ssl_context=certificate.server_context(),
        authenticator=PasswordCheck("mailer", "s3cret"),
        auth_required=True,
        # aiosmtpd counts only STARTTLS as TLS; this whole connection is TLS already.
        auth_require_tls=False,
    )
    try:
        settings = email_settings(
            controller.port,
            email_secure=True,
            email_tls=True,
            email_username="mailer",
            email_password="s3cret",
        )
        configure(app, **settings)
        task = scene.task("error")
        (outcome,) = notify_task(task.id, "error")
    finally:
        controller.stop()
    assert outcome.error is None
    assert [d.tls for d in box.deliveries] == [True, True]


@pytest.mark.single_db
def test_a_wrong_password_is_reported_and_nothing_sent(app, scene, certificate):
    box = Mailbox()
    controller = smtp_server(
        box,
        tls_context=certificate.server_context(),
        authenticator=PasswordCheck("mailer", "s3cret"),
        auth_required=True,
    )
    try:
        settings = email_settings(
            controller.port, email_secure=True, email_username="mailer", email_password="nope"
        )
        configure(app, **settings)
        task = scene.task("error")
        (outcome,) = notify_task(task.id, "error")
    finally:
        controller.stop()
    assert outcome.error.startswith("SMTP 535")
    assert box.deliveries == []
    assert task_output.read_lines(task.id)[-1].output.startswith(
        "Could not send the e-mail notification: SMTP 535"
    )


@pytest.mark.single_db
def test_an_untrusted_certificate_is_refused(app, scene, tmp_path):
    # Same server as above, but the client has no reason to trust its certificate.
    cert = self_signed_certificate(tmp_path / "tls")
    box = Mailbox()
    controller = smtp_server(box, ssl_context=cert.server_context())
    try:
        configure(app, **email_settings(controller.port, email_secure=True, email_tls=True))
        task = scene.task("error")
        (outcome,) = notify_task(task.id, "error")
    finally:
        controller.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert box.deliveries == []


@pytest.mark.single_db
def test_header_injection_through_a_template_name_is_neutralised(app, scene, mailbox):
    configure(app, **email_settings(mailbox.port))
    scene.template.name = "deploy\r\nBcc: victim@example.com"
    task = scene.task("error")
    notify_task(task.id, "error")
    message = mailbox.deliveries[0].message
    assert message["Bcc"] is None
    assert message["Subject"] == "Task 'deploy Bcc: victim@example.com' failed"
    assert all("victim" not in d.rcpt_tos for d in mailbox.deliveries)
