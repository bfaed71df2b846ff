"""OpenID Connect sign-ins in the audit trail: a success with method "oidc", and a refusal
with the provider and the reason (who it was is not known yet)."""

from __future__ import annotations

from semaphore.extensions import db
from semaphore.models import AuditEvent
from tests.oidc.test_oidc_login import ADA, local, login, start


def _of(kind: str) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.query(AuditEvent).filter_by(kind=kind).all()


def test_an_oidc_sign_in_is_recorded(api, provider):
    assert login(api, provider, "ada-audit", ADA).status_code == 302
    (event,) = _of("login")
    assert event.actor_login == "ada.l" and event.actor_id is not None
    assert event.details == {"method": "oidc"} and event.address == "127.0.0.1"


def test_a_refused_oidc_sign_in_is_recorded(api, provider):
    response = api.get(local(provider.deny(start(api))))
    assert response.status_code == 302
    (event,) = _of("login_failed")
    assert event.actor_id is None and event.address == "127.0.0.1"
    assert event.details["method"] == "oidc" and event.details["provider"] == "mock"
    assert "access_denied" in event.details["reason"]
    assert _of("login") == []
