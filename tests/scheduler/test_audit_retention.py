"""Audit retention (issue 21): the scheduler's retention pass deletes the audit events older
than audit_retention_days, in batches, and keeps the newer ones; 0 keeps every event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from semaphore import scheduler
from semaphore.extensions import db
from semaphore.models import AuditEvent, utcnow
from semaphore.services import audit


def _events(ages_in_days: list[float]) -> dict[float, int]:
    now = utcnow()
    ids = {}
    for age in ages_in_days:
        row = audit.record("login_failed", None, actor_login=f"aged-{age}")
        row.created = now - timedelta(days=age)
        db.session.flush()
        ids[age] = row.id
    db.session.commit()
    return ids


def _left() -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(AuditEvent.id).where(AuditEvent.kind == "login_failed")))


@pytest.mark.parametrize("config_overrides", [{"audit_retention_days": 30}])
def test_old_events_go_and_new_ones_stay(app):
    ids = _events([90, 31, 29.9, 1, 0])
    assert scheduler.retain_audit(utcnow()) == 2
    assert _left() == {ids[29.9], ids[1], ids[0]}
    assert scheduler.retain_audit(utcnow()) == 0  # nothing more to do


@pytest.mark.parametrize("config_overrides", [{"audit_retention_days": 0}])
def test_zero_keeps_every_event(app):
    ids = _events([3650, 1])
    assert scheduler.retain_audit(utcnow()) == 0
    assert _left() == set(ids.values())


@pytest.mark.parametrize("config_overrides", [{"audit_retention_days": 7}])
def test_deletes_in_batches_with_a_commit_after_each(app, monkeypatch):
    monkeypatch.setattr(audit, "BATCH", 2)
    ids = _events([40, 30, 20, 15, 13, 10, 1])
    commits = []
    event.listen(db.session(), "after_commit", lambda session: commits.append(1))
    # Measured from the moment the pass is given (5 days ago: older than 12 days go).
    assert scheduler.retain_audit(utcnow() - timedelta(days=5)) == 5
    assert _left() == {ids[10], ids[1]}
    assert len(commits) == 3  # 2 + 2 + 1: one commit per deleting statement


@pytest.mark.parametrize("config_overrides", [{"audit_retention_days": 7}])
def test_a_failing_pass_is_logged_not_raised(app, monkeypatch, caplog):
    def broken(now=None):
        raise RuntimeError("database gone")

    monkeypatch.setattr(audit, "delete_expired", broken)
    assert scheduler.retain_audit(utcnow()) == 0
    assert "audit retention failed" in caplog.text
