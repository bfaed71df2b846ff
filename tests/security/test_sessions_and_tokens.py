"""Sessions you can see and end (one, or everywhere else), a 30-day limit, sign-out on a new
password; API tokens with an expiry time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from semaphore.extensions import db
from semaphore.models import APIToken, Session, utcnow
from tests import factories
from tests.contract import ContractClient


def signed_in_client(app, user) -> ContractClient:
    api = ContractClient(app.test_client())
    response = api.post(
        "/api/auth/login", json={"auth": user.username, "password": factories.DEFAULT_PASSWORD}
    )
    assert response.status_code == 204
    return api


def test_sessions_are_listed_and_one_can_be_ended(app):
    user = factories.user()
    laptop, phone = signed_in_client(app, user), signed_in_client(app, user)
    listed = laptop.get("/api/user/sessions").get_json()
    assert [row["current"] for row in listed] == [False, True]  # newest (phone) first
    assert {"id", "created", "last_active", "ip", "user_agent"} <= set(listed[0])

    assert laptop.delete(f"/api/user/sessions/{listed[0]['id']}").status_code == 204
    assert phone.get("/api/user").status_code == 401
    assert laptop.get("/api/user").status_code == 200
    assert len(laptop.get("/api/user/sessions").get_json()) == 1


def test_sessions_of_others_cannot_be_ended(app):
    mine, theirs = factories.user(), factories.user()
    me, them = signed_in_client(app, mine), signed_in_client(app, theirs)
    their_id = them.get("/api/user/sessions").get_json()[0]["id"]
    assert me.delete(f"/api/user/sessions/{their_id}").status_code == 404
    assert them.get("/api/user").status_code == 200


def test_log_out_everywhere_else(app):
    user = factories.user()
    others = [signed_in_client(app, user) for _ in range(3)]
    here = signed_in_client(app, user)
    answer = here.delete("/api/user/sessions")
    assert answer.status_code == 200 and answer.get_json() == {"ended": 3}
    assert all(other.get("/api/user").status_code == 401 for other in others)
    assert here.get("/api/user").status_code == 200


def test_a_session_ends_thirty_days_after_login_however_active(app):
    user = factories.user()
    client = signed_in_client(app, user)
    row = db.session.query(Session).one()
    row.created = utcnow() - timedelta(days=31)
    row.last_active = utcnow()
    db.session.commit()
    assert client.get("/api/user").status_code == 401


def test_a_new_password_signs_out_every_other_session(app):
    user = factories.user()
    other = signed_in_client(app, user)
    here = signed_in_client(app, user)
    assert (
        here.post(f"/api/users/{user.id}/password", json={"password": "n3w-password"}).status_code
        == 204
    )
    assert other.get("/api/user").status_code == 401
    assert here.get("/api/user").status_code == 200


def test_an_admin_setting_a_password_signs_the_user_out_everywhere(app, admin_api):
    user = factories.user()
    client = signed_in_client(app, user)
    changed = admin_api.post(f"/api/users/{user.id}/password", json={"password": "reset-password"})
    assert changed.status_code == 204
    assert client.get("/api/user").status_code == 401


def test_a_token_with_an_expiry(app, user_api, api):
    made = user_api.post("/api/user/tokens", json={"name": "CI", "expires_in_days": 30})
    assert made.status_code == 201
    body = made.get_json()
    assert body["expired"] is False and body["expires"] is not None
    bearer = {"Authorization": f"Bearer {body['id']}"}
    assert api.get("/api/user", headers=bearer).status_code == 200

    row = db.session.query(APIToken).filter(APIToken.name == "CI").one()
    assert timedelta(days=29) < row.expires - utcnow() <= timedelta(days=30)
    row.expires = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert api.get("/api/user", headers=bearer).status_code == 401
    listed = {t["name"]: t for t in user_api.get("/api/user/tokens").get_json()}
    assert listed["CI"]["expired"] is True


def test_a_token_until_a_given_time(app, user_api):
    moment = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    made = user_api.post("/api/user/tokens", json={"expires": moment.isoformat()})
    assert made.status_code == 201
    assert made.get_json()["expires"].startswith(moment.strftime("%Y-%m-%dT%H:%M:%S"))


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in_days": 0},
        {"expires_in_days": -1},
        {"expires_in_days": 4000},
        {"expires_in_days": "30"},
        {"expires_in_days": True},
        {"expires": "2020-01-01T00:00:00Z"},
        {"expires": "next week"},
        {"expires": "2030-01-01T00:00:00"},
        {"expires": 5},
        {"expires": "2030-01-01T00:00:00Z", "expires_in_days": 3},
    ],
)
def test_bad_expiry_is_400_and_makes_no_token(app, user_api, body):
    before = db.session.query(APIToken).count()
    response = user_api.post("/api/user/tokens", json=body)
    assert response.status_code == 400
    assert db.session.query(APIToken).count() == before
