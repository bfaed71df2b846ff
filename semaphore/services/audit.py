"""The audit trail (ours): services record sign-ins, failures and security changes here.

`record` adds the event to the session, so the change's own commit writes it (a failed sign-in,
which changes nothing, commits its event itself). Services never read the request: the address
comes from the finder the HTTP side registers (`ADDRESS_FINDER` in app.extensions), and events
recorded outside a request (the CLI, the scheduler) have none.

With `audit_log_file` set, each committed event is also written as one JSON line (the API's
shape) to that file, or to standard output for "-": lines are built when the rows are flushed
(they have their ids then) and written after the commit, so a rolled-back change writes none.
`delete_expired` is the scheduler's retention pass for `audit_retention_days`.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app, has_request_context
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from semaphore.config import current_config
from semaphore.errors import PermissionDenied, ValidationError
from semaphore.extensions import db
from semaphore.models import AUDIT_KINDS, AuditEvent, User, utcnow
from semaphore.services import listing

if TYPE_CHECKING:
    from semaphore.schemas.audit import AuditFilterIn
    from semaphore.schemas.listing import Page

# Every process installs the export (create_app), the scheduler and the worker included: the
# schemas (pydantic) are imported where an answer is shaped or a filter parsed (issue 17).

log = logging.getLogger(__name__)

# app.extensions key of a callable answering the current request's client address.
ADDRESS_FINDER = "semaphore.client_address"
STDOUT = "-"
# Retention deletes this many events per statement, with a commit after each.
BATCH = 500
_EXPORT_PATH = "semaphore_audit_export"
_EXPORT_LINES = "semaphore_audit_lines"
_write_lock = threading.Lock()


def record(
    kind: str,
    actor: User | None,
    *,
    actor_login: str | None = None,
    address: str | None = None,
    target: User | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    target_name: str | None = None,
    project_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session; the caller's commit writes it with the change.

    `target` is a user the event is about (shorthand for the three target fields);
    `details` must never hold a secret (a password, a token, a code).
    """
    if kind not in AUDIT_KINDS:
        raise ValueError(f"unknown audit event kind {kind!r}")
    if target is not None:
        target_type, target_id, target_name = "user", target.id, target.username
    row = AuditEvent(
        created=utcnow(),
        kind=kind,
        actor_id=actor.id if actor is not None else None,
        actor_login=(actor_login if actor_login is not None else _login_of(actor))[:255],
        address=(address if address is not None else _request_address())[:64],
        target_type=target_type,
        target_id=target_id,
        target_name=target_name[:255] if target_name is not None else None,
        project_id=project_id,
        details=dict(details) if details else None,
    )
    db.session.add(row)
    path = current_config().audit_log_file
    if path:
        db.session.info[_EXPORT_PATH] = path
    return row


def commit_alone(kind: str, actor: User | None, **fields: Any) -> None:
    """Record an event that has no change of its own to ride with (a failed sign-in), and
    commit it; a database error is logged and rolled back, never raised over the refusal."""
    try:
        record(kind, actor, **fields)
        db.session.commit()
    except Exception:  # the refusal the caller is about to give matters more
        log.exception("audit event %s not recorded", kind)
        db.session.rollback()


def _login_of(actor: User | None) -> str:
    return actor.username if actor is not None else ""


def _request_address() -> str:
    if not has_request_context():
        return ""
    finder: Callable[[], str] | None = current_app.extensions.get(ADDRESS_FINDER)
    return finder() if finder is not None else ""


# --- listing ---------------------------------------------------------------------------------


def parse_filter(args: Mapping[str, Any]) -> AuditFilterIn:
    """The filters of a query string (empty values are absent).

    Raises:
        ValidationError: an unknown kind, a bad date, or `since` after `until`.
    """
    from semaphore.schemas.audit import AuditFilterIn
    from semaphore.schemas.base import parse

    given = {
        name: args.get(name)
        for name in ("kind", "actor", "since", "until")
        if args.get(name) not in (None, "")
    }
    body = parse(AuditFilterIn, given)
    if body.since and body.until and body.since > body.until:
        raise ValidationError("since must not be after until", "since")
    return body


def list_events(
    actor: User, filters: Mapping[str, Any], *, page: Page | None = None
) -> listing.Rows[AuditEvent]:
    """The audit events matching the filters (a query string's), newest first; administrators
    only.

    Raises:
        PermissionDenied: the actor is not an administrator.
        ValidationError: a filter is invalid (see parse_filter).
    """
    if not actor.admin:
        raise PermissionDenied("Only administrators can see the audit trail")
    found = parse_filter(filters)
    query = select(AuditEvent)
    if found.kind:
        query = query.where(AuditEvent.kind == found.kind)
    if found.actor and found.actor.strip():
        wanted = found.actor.strip().lower()
        query = query.where(func.lower(AuditEvent.actor_login).contains(wanted, autoescape=True))
    if found.since:
        query = query.where(AuditEvent.created >= _midnight(found.since))
    if found.until:
        query = query.where(AuditEvent.created < _midnight(found.until) + timedelta(days=1))
    query = query.order_by(AuditEvent.created.desc(), AuditEvent.id.desc())
    return listing.rows(query, page)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


# --- retention -------------------------------------------------------------------------------


def delete_expired(now: datetime | None = None) -> int:
    """Delete the events older than `audit_retention_days` (0 keeps them), BATCH per
    statement with a commit after each; returns how many."""
    days = current_config().audit_retention_days
    if not days:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    deleted = 0
    while ids := db.session.scalars(
        select(AuditEvent.id)
        .where(AuditEvent.created < cutoff)
        .order_by(AuditEvent.id)
        .limit(BATCH)
    ).all():
        db.session.execute(
            delete(AuditEvent).where(AuditEvent.id.in_(ids)),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()
        deleted += len(ids)
        if len(ids) < BATCH:
            break
    if deleted:
        log.info("retention: %d audit events deleted", deleted)
    return deleted


# --- the JSON-lines export -------------------------------------------------------------------


def _collect_lines(session: Session, _flush_context: Any) -> None:
    if _EXPORT_PATH not in session.info:
        return
    from semaphore.schemas.audit import AuditEventOut

    lines = session.info.setdefault(_EXPORT_LINES, [])
    for row in session.new:
        if isinstance(row, AuditEvent):
            lines.append(json.dumps(AuditEventOut.dump(row)))


def _write_lines(session: Session) -> None:
    path = session.info.pop(_EXPORT_PATH, None)
    lines = session.info.pop(_EXPORT_LINES, None)
    if not path or not lines:
        return
    text = "".join(line + "\n" for line in lines)
    try:
        with _write_lock:
            if path == STDOUT:
                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                with open(path, "a", encoding="utf-8") as out:
                    out.write(text)
    except OSError as exc:
        # The events are in the database; the file is a copy, and a full disk must not fail
        # the sign-in or the change that was just committed.
        log.warning("audit events not written to %s: %s", path, exc)


def _drop_lines(session: Session, _previous_transaction: Any = None) -> None:
    session.info.pop(_EXPORT_PATH, None)
    session.info.pop(_EXPORT_LINES, None)


def install() -> None:
    """Hook every ORM session for the export (once per process)."""
    if not event.contains(Session, "after_commit", _write_lines):
        event.listen(Session, "after_flush", _collect_lines)
        event.listen(Session, "after_commit", _write_lines)
        event.listen(Session, "after_soft_rollback", _drop_lines)
