"""E-mail over SMTP, sent when a task fails, to each recipient separately.

Connection modes, as the original's mailer:
* `email_secure` off: plain SMTP, no authentication;
* `email_secure` on: STARTTLS when the server offers it, then log in (PLAIN, or LOGIN when
  that is all the server offers) with `email_username` / `email_password`;
* `email_secure` and `email_tls` on: TLS from the first byte (SMTPS, usually port 465), then
  log in.
Certificates are verified against the system's CAs.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from semaphore.config import Config
from semaphore.notifications.http import NotificationError
from semaphore.notifications.message import TaskMessage

NAME = "e-mail"
FLAG = "email_alert"
TIMEOUT_SECONDS = 10.0


def enabled(config: Config) -> bool:
    return config.email_alert


def subject(message: TaskMessage) -> str:
    """The original's subject line (a test notification says what it is)."""
    if message.test:
        return f"Test notification from Semaphore for project '{message.project_name}'"
    return f"Task '{message.template_name}' failed"


def html_body(message: TaskMessage) -> str:
    e = html.escape
    if message.test:
        link = f'<a href="{e(message.url, quote=True)}">{e(message.url)}</a>'
        return f"<p>{e(message.headline)}.</p>\n<p>Project activity: {link}</p>\n"
    rows = [
        ("Project", message.project_name),
        ("Template", message.template_name),
        ("Task", f"#{message.task_id}"),
        ("Status", message.result),
        ("Author", message.author),
    ]
    if message.version:
        rows.append(("Version", message.version))
    if message.description:
        rows.append(("Message", message.description))
    facts = "".join(f"<tr><th align='left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return (
        f"<p>Task #{message.task_id} of template '{e(message.template_name)}' in project "
        f"'{e(message.project_name)}' failed.</p>\n"
        f"<table>{facts}</table>\n"
        f'<p>Task log: <a href="{e(message.url, quote=True)}">{e(message.url)}</a></p>\n'
    )


def text_body(message: TaskMessage) -> str:
    if message.test:
        return f"{message.headline}.\nProject activity: {message.url}\n"
    lines = [
        f"Task #{message.task_id} of template '{message.template_name}' in project "
        f"'{message.project_name}' failed ({message.result}).",
        f"Author: {message.author}",
    ]
    if message.version:
        lines.append(f"Version: {message.version}")
    if message.description:
        lines.append(f"Message: {message.description}")
    lines.append(f"Task log: {message.url}")
    return "\n".join(lines) + "\n"


def build_email(config: Config, message: TaskMessage, recipient: str) -> EmailMessage:
    """One recipient's e-mail: a plain-text part and the HTML part."""
    email = EmailMessage()
    email["Subject"] = _one_line(subject(message))
    email["From"] = _one_line(config.email_sender)
    email["To"] = _one_line(recipient)
    email["Date"] = formatdate(localtime=True)
    domain = config.email_sender.rpartition("@")[2] or "semaphore.invalid"
    email["Message-ID"] = make_msgid(domain=_one_line(domain))
    email.set_content(text_body(message))
    email.add_alternative(html_body(message), subtype="html")
    return email


def send(config: Config, message: TaskMessage, recipients: Iterable[str]) -> dict[str, str]:
    """Send the failure e-mail to each recipient over one connection.

    Returns the recipients that were refused, with the server's reason.

    Raises:
        NotificationError: the server could not be reached, or refused the sender or login.
    """
    refused: dict[str, str] = {}
    try:
        with _connect(config) as smtp:
            for recipient in recipients:
                try:
                    smtp.send_message(
                        build_email(config, message, recipient),
                        from_addr=config.email_sender,
                        to_addrs=[recipient],
                    )
                except smtplib.SMTPRecipientsRefused as exc:
                    refused[recipient] = _reason(exc.recipients.get(recipient))
                except smtplib.SMTPDataError as exc:
                    refused[recipient] = _reason((exc.smtp_code, exc.smtp_error))
    except (smtplib.SMTPException, OSError) as exc:
        raise NotificationError(_describe(exc)) from None
    return refused


def _connect(config: Config) -> smtplib.SMTP:
    host = config.email_host or "localhost"
    if config.email_secure and config.email_tls:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, config.email_port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, config.email_port, timeout=TIMEOUT_SECONDS)
    try:
        smtp.ehlo_or_helo_if_needed()
        if config.email_secure:
            if not config.email_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.email_username:
                _log_in(smtp, config.email_username, config.email_password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _log_in(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """PLAIN, or LOGIN when that is all the server offers (the original's PlainOrLoginAuth)."""
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("the server does not offer SMTP AUTH")
    offered = smtp.esmtp_features["auth"].upper().split()
    smtp.user, smtp.password = username, password
    if "LOGIN" in offered and "PLAIN" not in offered:
        smtp.auth("LOGIN", smtp.auth_login)
    else:
        smtp.auth("PLAIN", smtp.auth_plain)


def _one_line(value: str) -> str:
    # A line break in a header would start a new header (header injection).
    return " ".join(value.splitlines()).strip()


def _reason(answer: tuple[int, bytes | str] | None) -> str:
    if not answer:
        return "refused"
    code, text = answer
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return f"{code} {text}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {_reason((exc.smtp_code, exc.smtp_error))}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "every recipient was refused"
    return str(exc) or type(exc).__name__
