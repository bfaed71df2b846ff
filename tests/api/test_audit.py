"""The audit trail through the real routes: what is recorded (actor, address, details), and
GET /api/audit (administrators only, filters, paging); also the JSON-lines export."""

from __future__ import annotations

import json
from datetime import timedelta

import pyotp
import pytest

from semaphore.extensions import db
from semaphore.models import AuditEvent, utcnow
from semaphore.services import audit
from tests import factories
from tests.contract import ContractClient

ADDRESS = "203.0.113.7"


def _from(address: str = ADDRESS) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def _events(admin_api, **filters) -> list[dict]:
    response = admin_api.get("/api/audit", query_string=filters)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _only(admin_api, kind: str, **filters) -> dict:
    found = _events(admin_api, kind=kind, **filters)
    assert len(found) == 1, found
    return found[0]


def test_failed_sign_in_is_recorded_with_the_login_tried_and_the_address(admin_api, api):
    factories.user(username="victim")
    response = api.post("/api/auth/login", json={"auth": "victim", "password": "wrong"}, **_from())
    assert response.status_code == 401
    response = api.post("/api/auth/login", json={"auth": "nobody", "password": "x"}, **_from())
    assert response.status_code == 401

    failures = _events(admin_api, kind="login_failed")
    assert [event["actor_login"] for event in failures] == ["nobody", "victim"]
    for event in failures:
        assert event["address"] == ADDRESS
        assert event["actor_id"] is None
        assert event["details"] == {"method": "password", "reason": "bad_password"}
        assert "wrong" not in json.dumps(event)


def test_locked_out_sign_in_is_recorded_as_such(app, admin_api, api):
    factories.user(username="target")
    for _ in range(app.config["SEMAPHORE"].login_max_failures):
        api.post("/api/auth/login", json={"auth": "target", "password": "bad"}, **_from())
    response = api.post("/api/auth/login", json={"auth": "target", "password": "x"}, **_from())
    assert response.status_code == 429
    reasons = [event["details"]["reason"] for event in _events(admin_api, kind="login_failed")]
    assert reasons[0] == "locked" and reasons.count("bad_password") == 5


def test_sign_in_and_sign_out_are_recorded(client, admin_api):
    user = factories.user(username="walker")
    api = ContractClient(client)
    login = {"auth": "walker", "password": factories.DEFAULT_PASSWORD}
    assert api.post("/api/auth/login", json=login, **_from()).status_code == 204
    assert api.post("/api/auth/logout", **_from("198.51.100.2")).status_code == 204

    signed_in = _only(admin_api, "login")
    assert signed_in["actor_id"] == user.id and signed_in["actor_login"] == "walker"
    assert signed_in["address"] == ADDRESS and signed_in["details"] == {"method": "password"}
    signed_out = _only(admin_api, "logout")
    assert signed_out["actor_id"] == user.id and signed_out["address"] == "198.51.100.2"


def test_token_creation_and_revocation_are_recorded_without_the_token(user_api, admin_api):
    response = user_api.post("/api/user/tokens", json={"name": "deploy"}, **_from())
    assert response.status_code == 201
    raw = response.get_json()["id"]
    assert user_api.delete(f"/api/user/tokens/{raw[:16]}", **_from()).status_code == 204

    # The fixture's own token (made by a factory, outside any request) has no address.
    made = _events(admin_api, kind="token_created", actor=user_api.user.username)
    assert [event["address"] for event in made] == [ADDRESS, ""]
    created = made[0]
    assert created["actor_id"] == user_api.user.id
    assert created["actor_login"] == user_api.user.username
    assert created["address"] == ADDRESS
    assert created["details"] == {"name": "deploy", "expires": None}
    revoked = _only(admin_api, "token_revoked")
    assert revoked["actor_id"] == user_api.user.id and revoked["address"] == ADDRESS
    everything = json.dumps(_events(admin_api))
    assert raw not in everything and raw[:16] not in everything


def test_project_role_changes_are_recorded(app, admin_api):
    owner = factories.user(username="boss")
    member = factories.user(username="helper")
    project = factories.project(members={owner: "owner"})
    boss = factories.api_client(app, owner)
    base = f"/api/project/{project.id}/users"
    added = boss.post(base, json={"user_id": member.id, "role": "guest"}, **_from())
    assert added.status_code == 204
    changed = boss.put(f"{base}/{member.id}", json={"role": "manager"}, **_from())
    assert changed.status_code == 204
    assert boss.delete(f"{base}/{member.id}", **_from()).status_code == 204

    role = _only(admin_api, "member_role_changed")
    assert role["actor_id"] == owner.id and role["actor_login"] == "boss"
    assert role["address"] == ADDRESS
    assert (role["target_type"], role["target_id"], role["target_name"]) == (
        "user",
        member.id,
        "helper",
    )
    assert role["project_id"] == project.id
    assert role["details"] == {"role": "manager", "previous_role": "guest"}
    assert _only(admin_api, "member_added")["details"] == {"role": "guest"}
    assert _only(admin_api, "member_removed")["details"] == {"role": "manager"}


def test_two_factor_changes_and_the_second_step_are_recorded(app, api, admin_api):
    user = factories.user(username="tess")
    login = {"auth": "tess", "password": factories.DEFAULT_PASSWORD}
    assert api.post("/api/auth/login", json=login, **_from()).status_code == 204
    begun = api.post("/api/user/2fa/totp", **_from()).get_json()
    totp = pyotp.TOTP(begun["secret"])
    confirmed = api.post("/api/user/2fa/totp/confirm", json={"passcode": totp.now()}, **_from())
    codes = confirmed.get_json()["recovery_codes"]
    assert api.post("/api/auth/logout", **_from()).status_code == 204
    assert api.post("/api/auth/login", json=login, **_from()).status_code == 204
    bad = api.post("/api/auth/recovery", json={"recovery_code": "nope-nope"}, **_from())
    assert bad.status_code == 401
    assert api.post("/api/auth/recovery", json={"recovery_code": codes[0]}).status_code == 204
    gone = api.delete("/api/user/2fa/totp", json={"passcode": codes[1]}, **_from())
    assert gone.status_code == 204
    api.post("/api/user/2fa/totp")
    totp = pyotp.TOTP(api.post("/api/user/2fa/totp").get_json()["secret"])
    assert api.post("/api/user/2fa/totp/confirm", json={"passcode": totp.now()}).status_code == 200
    assert admin_api.delete(f"/api/users/{user.id}/2fa", **_from()).status_code == 204

    kinds = [event["kind"] for event in _events(admin_api, actor="tess")]
    assert kinds.count("2fa_enabled") == 2 and kinds.count("2fa_disabled") == 1
    # The password login waiting for its code is one sign-in, recorded once the code is good.
    methods = [event["details"]["method"] for event in _events(admin_api, kind="login")]
    assert methods == ["password+recovery_code", "password"]
    failed = _only(admin_api, "login_failed")
    assert failed["actor_login"] == "tess"
    assert failed["details"] == {"method": "recovery_code", "reason": "bad_code"}
    reset = _only(admin_api, "2fa_reset")
    assert reset["actor_login"] == "admin" and reset["target_name"] == "tess"
    assert reset["address"] == ADDRESS
    assert all(code not in json.dumps(_events(admin_api)) for code in codes)
    assert begun["secret"] not in json.dumps(_events(admin_api))


def test_password_and_admin_flag_changes_are_recorded(admin, admin_api, user_api):
    target = user_api.user
    changed = admin_api.post(
        f"/api/users/{target.id}/password", json={"password": "a-new-password"}, **_from()
    )
    assert changed.status_code == 204
    body = {"username": target.username, "name": target.name, "email": target.email}
    promoted = admin_api.put(f"/api/users/{target.id}", json={**body, "admin": True}, **_from())
    assert promoted.status_code == 204
    demoted = admin_api.put(f"/api/users/{target.id}", json={**body, "admin": False}, **_from())
    assert demoted.status_code == 204
    renamed = user_api.put(
        f"/api/users/{target.id}", json={**body, "password": "another-password"}, **_from()
    )
    assert renamed.status_code == 204

    passwords = _events(admin_api, kind="password_changed")
    assert [(e["actor_login"], e["target_id"]) for e in passwords] == [
        (target.username, target.id),
        ("admin", target.id),
    ]
    granted = _events(admin_api, kind="admin_granted")
    # The fixture's admin was made by the system (no actor, no address).
    assert [(e["actor_login"], e["target_name"], e["address"]) for e in granted] == [
        ("admin", target.username, ADDRESS),
        ("", "admin", ""),
    ]
    assert _only(admin_api, "admin_revoked")["target_id"] == target.id
    assert "a-new-password" not in json.dumps(_events(admin_api))


@pytest.mark.parametrize("config_overrides", [{"runner_registration_token": "global-reg"}])
def test_runner_registration_is_recorded(api, admin_api):
    response = api.post(
        "/api/internal/runners", json={"registration_token": "global-reg"}, **_from()
    )
    assert response.status_code == 200
    event = _only(admin_api, "runner_registered")
    assert event["target_type"] == "runner" and event["target_id"] is not None
    assert event["address"] == ADDRESS and event["actor_id"] is None
    assert event["details"] == {"registration": "global_token"}
    assert "global-reg" not in json.dumps(event) and response.get_json()["token"] not in str(event)


# --- GET /api/audit ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "manager", "task_runner", "guest", None])
def test_the_audit_api_is_403_for_every_non_admin(app, role):
    user = factories.user()
    if role:
        factories.project(members={user: role})
    caller = factories.api_client(app, user)
    assert caller.get("/api/audit").status_code == 403
    assert caller.get("/api/audit?kind=bogus").status_code == 403


def test_the_audit_api_is_401_for_anonymous_callers_and_open_to_admins(api, admin_api):
    assert api.get("/api/audit").status_code == 401
    assert admin_api.get("/api/audit").status_code == 200


def _add(kind: str, login: str, days_ago: float = 0, **fields) -> AuditEvent:
    row = audit.record(kind, None, actor_login=login, **fields)
    row.created = utcnow() - timedelta(days=days_ago)
    db.session.commit()
    return row


def test_filters_by_kind_actor_and_days(admin_api):
    _add("login_failed", "Mallory", days_ago=10)
    _add("login_failed", "mallory2", days_ago=3)
    _add("login", "alice", days_ago=3)
    _add("logout", "alice")
    today = utcnow().date()

    def logins(**filters) -> list[str]:
        # Only the events added here: the fixtures' own (the admin, its token) are left out.
        mine = {"Mallory", "mallory2", "alice"}
        return [e["actor_login"] for e in _events(admin_api, **filters) if e["actor_login"] in mine]

    assert logins(kind="login_failed") == ["mallory2", "Mallory"]
    assert logins(actor="MALL") == ["mallory2", "Mallory"]
    assert logins(actor="%") == []  # a LIKE wildcard is a plain character here
    assert logins(kind="login", actor="alice") == ["alice"]
    assert logins(since=str(today - timedelta(days=4))) == ["alice", "alice", "mallory2"]
    assert logins(until=str(today - timedelta(days=3))) == ["alice", "mallory2", "Mallory"]
    three_days_ago = str(today - timedelta(days=3))
    assert logins(since=three_days_ago, until=three_days_ago) == ["alice", "mallory2"]
    assert logins(kind="logout", since=str(today), until=str(today)) == ["alice"]


def test_the_audit_api_pages_newest_first(admin_api):
    for n in range(5):
        _add("login_failed", f"guess{n}", days_ago=5 - n)
    first = admin_api.get("/api/audit", query_string={"kind": "login_failed", "limit": 2})
    assert first.status_code == 200
    assert first.headers["X-Total-Count"] == "5"
    assert [e["actor_login"] for e in first.get_json()] == ["guess4", "guess3"]
    assert 'rel="next"' in first.headers["Link"] and "kind=login_failed" in first.headers["Link"]
    last = admin_api.get("/api/audit?kind=login_failed&limit=2&page=3").get_json()
    assert [e["actor_login"] for e in last] == ["guess0"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=bogus", "kind"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("since=2026-05-02&until=2026-05-01", "since must not be after until"),
        ("actor=" + "x" * 300, "actor"),
        ("page=0", "page"),
        ("limit=abc", "limit"),
    ],
)
def test_bad_filters_are_400_with_a_message(admin_api, query, message):
    response = admin_api.get(f"/api/audit?{query}")
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_events_outlive_their_actor(admin_api, user_api):
    gone, name = user_api.user, user_api.user.username
    assert user_api.post("/api/user/tokens", json={"name": "x"}, **_from()).status_code == 201
    assert admin_api.delete(f"/api/users/{gone.id}").status_code == 204
    made = _events(admin_api, kind="token_created", actor=name)
    assert len(made) == 2 and all(e["actor_id"] is None for e in made)
    assert {e["actor_login"] for e in made} == {name}
