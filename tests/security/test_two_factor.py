"""TOTP two-factor sign-in over the API: enrolment, the login's second step, codes accepted
once, recovery codes accepted once, turning it off, and an admin's reset."""

from __future__ import annotations

import time

import pyotp
import pytest

from semaphore.extensions import db
from semaphore.models import RecoveryCode, Session, UserTotp
from tests import factories


def login(api, user, password=factories.DEFAULT_PASSWORD):
    return api.post("/api/auth/login", json={"auth": user.username, "password": password})


def logout(api) -> None:
    assert api.post("/api/auth/logout").status_code == 204


def wrong_code(totp: pyotp.TOTP) -> str:
    """A six-digit code that no step near now produces."""
    valid = {totp.at(time.time() + offset) for offset in (-30, 0, 30)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


def enrol(api) -> tuple[pyotp.TOTP, list[str]]:
    """Turn TOTP on for the signed-in client; returns the app's TOTP and the recovery codes."""
    begun = api.post("/api/user/2fa/totp")
    assert begun.status_code == 201
    body = begun.get_json()
    totp = pyotp.TOTP(body["secret"])
    assert f"secret={body['secret']}" in body["url"]
    confirmed = api.post("/api/user/2fa/totp/confirm", json={"passcode": totp.now()})
    assert confirmed.status_code == 200
    return totp, confirmed.get_json()["recovery_codes"]


@pytest.fixture
def enrolled(app, api):
    """A user with TOTP on, signed out; yields (user, totp, recovery codes)."""
    user = factories.user()
    assert login(api, user).status_code == 204
    totp, codes = enrol(api)
    logout(api)
    return user, totp, codes


def test_enrolment_shows_a_qr_code_and_stores_the_secret_sealed(app, api):
    user = factories.user(username="quinn")
    login(api, user)
    assert api.get("/api/user/2fa").get_json() == {
        "totp": False,
        "pending": False,
        "recovery_codes_left": 0,
    }
    body = api.post("/api/user/2fa/totp").get_json()
    assert body["url"].startswith("otpauth://totp/Semaphore:quinn?secret=")
    assert api.get("/api/user/2fa").get_json()["pending"] is True

    qr = api.get("/api/user/2fa/totp/qr")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    svg = qr.get_data(as_text=True)
    assert svg.startswith("<svg") and "<script" not in svg and "href" not in svg
    assert qr.headers["Cache-Control"] == "no-store"

    row = db.session.query(UserTotp).one()
    assert body["secret"] not in row.secret and row.confirmed is False

    # A pending enrolment does not change how the user logs in.
    logout(api)
    assert login(api, user).status_code == 204
    assert api.get("/api/user").status_code == 200


def test_a_wrong_first_code_does_not_turn_totp_on(app, api):
    user = factories.user()
    login(api, user)
    totp = pyotp.TOTP(api.post("/api/user/2fa/totp").get_json()["secret"])
    refused = api.post("/api/user/2fa/totp/confirm", json={"passcode": wrong_code(totp)})
    assert refused.status_code == 401
    assert api.get("/api/user/2fa").get_json()["totp"] is False
    assert db.session.query(RecoveryCode).count() == 0


def test_confirm_gives_ten_single_use_recovery_codes_stored_as_digests(app, api):
    user = factories.user()
    login(api, user)
    _totp, codes = enrol(api)
    assert len(codes) == len(set(codes)) == 10
    assert api.get("/api/user/2fa").get_json() == {
        "totp": True,
        "pending": False,
        "recovery_codes_left": 10,
    }
    stored = [row.code_hash for row in db.session.query(RecoveryCode)]
    for code in codes:
        assert all(code.replace("-", "") not in digest for digest in stored)
    # Enrolling again while on is refused; the QR is only for a pending enrolment.
    assert api.post("/api/user/2fa/totp").status_code == 409
    assert api.get("/api/user/2fa/totp/qr").status_code == 404


def test_password_login_then_a_computed_code(app, api, enrolled):
    user, totp, _codes = enrolled
    assert login(api, user).status_code == 204
    # Password alone opens nothing: the original's TOTP_REQUIRED answer.
    waiting = api.get("/api/user")
    assert waiting.status_code == 401 and waiting.get_json() == {"error": "TOTP_REQUIRED"}
    assert db.session.query(Session).filter_by(verified=False).count() == 1

    assert (
        api.post("/api/auth/verify", json={"passcode": totp.at(time.time() + 30)}).status_code
        == 204
    )
    assert api.get("/api/user").get_json()["username"] == user.username


def test_a_wrong_code_and_a_reused_code_are_refused(app, api, enrolled):
    user, totp, _codes = enrolled
    login(api, user)
    wrong = api.post("/api/auth/verify", json={"passcode": wrong_code(totp)})
    assert wrong.status_code == 401
    assert wrong.get_json() == {"error": "Invalid or already used code"}
    # The enrolment's code (this step) was spent when TOTP was turned on.
    assert api.post("/api/auth/verify", json={"passcode": totp.now()}).status_code == 401
    code = totp.at(time.time() + 30)
    assert api.post("/api/auth/verify", json={"passcode": code}).status_code == 204
    logout(api)

    login(api, user)
    replayed = api.post("/api/auth/verify", json={"passcode": code})
    assert replayed.status_code == 401
    assert api.get("/api/user").status_code == 401


def test_a_recovery_code_works_once(app, api, enrolled):
    user, _totp, codes = enrolled
    login(api, user)
    # Typed loosely: upper case, no dash, spaces around.
    loose = f"  {codes[0].replace('-', '').upper()} "
    assert api.post("/api/auth/recovery", json={"recovery_code": loose}).status_code == 204
    assert api.get("/api/user").status_code == 200
    logout(api)

    login(api, user)
    again = api.post("/api/auth/recovery", json={"recovery_code": codes[0]})
    assert again.status_code == 401
    assert api.get("/api/user").status_code == 401
    assert api.post("/api/auth/recovery", json={"recovery_code": codes[1]}).status_code == 204
    assert api.get("/api/user/2fa").get_json()["recovery_codes_left"] == 8


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/verify", {}),
        ("/api/auth/verify", {"passcode": 123456}),
        ("/api/auth/recovery", {"recovery_code": ""}),
        ("/api/auth/recovery", {"recovery_code": ["x"]}),
    ],
)
def test_malformed_second_steps_are_400(app, api, enrolled, path, body):
    user, _totp, _codes = enrolled
    login(api, user)
    assert api.post(path, json=body).status_code == 400
    assert api.get("/api/user").status_code == 401


def test_second_step_without_a_pending_login_is_401(app, api, enrolled):
    _user, totp, codes = enrolled
    assert api.post("/api/auth/verify", json={"passcode": totp.now()}).status_code == 401
    assert api.post("/api/auth/recovery", json={"recovery_code": codes[0]}).status_code == 401
    assert db.session.query(RecoveryCode).filter(RecoveryCode.used.isnot(None)).count() == 0


def test_wrong_codes_count_toward_the_login_limit(app, api, enrolled, config):
    user, totp, _codes = enrolled
    login(api, user)
    for _ in range(config.login_max_failures):
        assert api.post("/api/auth/verify", json={"passcode": wrong_code(totp)}).status_code == 401
    locked = api.post("/api/auth/verify", json={"passcode": totp.at(time.time() + 30)})
    assert locked.status_code == 429
    assert api.get("/api/user").status_code == 401


def test_a_pending_login_expires_after_five_minutes(app, api, enrolled):
    from datetime import timedelta

    user, totp, _codes = enrolled
    login(api, user)
    row = db.session.query(Session).filter_by(verified=False).one()
    row.created -= timedelta(minutes=6)
    db.session.commit()
    assert (
        api.post("/api/auth/verify", json={"passcode": totp.at(time.time() + 30)}).status_code
        == 401
    )


def test_bearer_tokens_are_not_asked_for_a_code(app, api, enrolled):
    user, _totp, _codes = enrolled
    token = factories.api_token(user)
    response = api.get("/api/user", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_turning_totp_off_needs_a_code(app, api, enrolled):
    user, totp, codes = enrolled
    login(api, user)
    api.post("/api/auth/recovery", json={"recovery_code": codes[0]})
    refused = api.delete("/api/user/2fa/totp", json={"passcode": wrong_code(totp)})
    assert refused.status_code == 401
    assert api.delete("/api/user/2fa/totp").status_code == 400
    assert api.delete("/api/user/2fa/totp", json={"passcode": codes[1]}).status_code == 204
    assert db.session.query(UserTotp).count() == db.session.query(RecoveryCode).count() == 0
    logout(api)
    assert login(api, user).status_code == 204
    assert api.get("/api/user").status_code == 200


def test_new_recovery_codes_void_the_old_ones(app, api, enrolled):
    user, totp, codes = enrolled
    login(api, user)
    api.post("/api/auth/recovery", json={"recovery_code": codes[0]})
    spent = api.post("/api/user/2fa/recovery_codes", json={"passcode": totp.now()})
    assert spent.status_code == 401  # this step's code was spent on turning TOTP on
    fresh = api.post(
        "/api/user/2fa/recovery_codes",
        json={"passcode": totp.at(time.time() + 30)},
    )
    assert fresh.status_code == 201
    new_codes = fresh.get_json()["recovery_codes"]
    assert set(new_codes).isdisjoint(codes)
    logout(api)
    login(api, user)
    assert api.post("/api/auth/recovery", json={"recovery_code": codes[2]}).status_code == 401
    assert api.post("/api/auth/recovery", json={"recovery_code": new_codes[0]}).status_code == 204


def test_an_admin_resets_a_users_totp(app, api, enrolled, admin_api, user_api):
    user, _totp, _codes = enrolled
    assert user_api.delete(f"/api/users/{user.id}/2fa").status_code == 403
    assert db.session.query(UserTotp).count() == 1
    assert admin_api.delete(f"/api/users/{user.id}/2fa").status_code == 204
    assert admin_api.delete("/api/users/99999/2fa").status_code == 404
    assert login(api, user).status_code == 204
    assert api.get("/api/user").status_code == 200


ACCOUNT_ROUTES = [
    ("GET", "/api/user/2fa"),
    ("POST", "/api/user/2fa/totp"),
    ("GET", "/api/user/2fa/totp/qr"),
    ("POST", "/api/user/2fa/totp/confirm"),
    ("POST", "/api/user/2fa/recovery_codes"),
    ("DELETE", "/api/user/2fa/totp"),
    ("DELETE", "/api/users/1/2fa"),
    ("GET", "/api/user/sessions"),
    ("DELETE", "/api/user/sessions"),
    ("DELETE", "/api/user/sessions/1"),
]


@pytest.mark.parametrize(("method", "path"), ACCOUNT_ROUTES)
def test_account_routes_need_a_full_login(app, api, enrolled, method, path):
    user, _totp, _codes = enrolled
    anonymous = api.open(method, path, json={"passcode": "123456"})
    assert anonymous.status_code == 401
    assert anonymous.get_json() == {"error": "Not authenticated"}
    login(api, user)  # password only: the second step is still missing
    halfway = api.open(method, path, json={"passcode": "123456"})
    assert halfway.status_code == 401
    assert halfway.get_json() == {"error": "TOTP_REQUIRED"}
    assert db.session.query(UserTotp).one().confirmed is True
    assert db.session.query(Session).filter_by(expired=False).count() == 1
