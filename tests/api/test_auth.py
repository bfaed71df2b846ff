"""POST /api/auth/login and /api/auth/logout, GET /api/auth/login, cookies and bearer tokens."""

import pytest

from semaphore.extensions import db
from semaphore.models import Session
from semaphore.services.auth import login as auth
from tests import factories


def login(api, auth, password=factories.DEFAULT_PASSWORD, **kwargs):
    return api.post("/api/auth/login", json={"auth": auth, "password": password}, **kwargs)


def test_login_metadata(api):
    body = api.get("/api/auth/login").get_json()
    assert body == {"oidc_providers": [], "login_with_password": True}


@pytest.mark.parametrize("field", ["username", "email"])
def test_login_by_username_or_email_sets_the_session_cookie(app, api, field):
    user = factories.user()
    response = login(api, getattr(user, field).upper())
    assert response.status_code == 204
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "HttpOnly" in cookies["semaphore"]
    assert "SameSite=Lax" in cookies["semaphore"]
    assert "Secure" not in cookies["semaphore"]  # plain http here
    # One cookie only: clients generated from the contract keep only the last Set-Cookie.
    assert list(cookies) == ["semaphore"]
    assert api.get("/api/user").get_json()["username"] == user.username


def test_wrong_password_is_401_without_saying_which_part(app, api):
    user = factories.user()
    wrong_password = login(api, user.username, "nope")
    unknown_user = login(api, "nobody", "nope")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert (
        wrong_password.get_json()
        == unknown_user.get_json()
        == {"error": "Invalid login or password"}
    )
    assert "Set-Cookie" not in wrong_password.headers


def test_external_user_cannot_log_in_with_a_password(app, api):
    user = factories.user(external=True)
    user.password = factories.users.hash_password("secret", 4)
    db.session.commit()
    assert login(api, user.username, "secret").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"auth": "someone"},
        {"password": "x"},
        {"auth": 5, "password": "x"},
        {"auth": "someone", "password": ["x"]},
        [],
        "text",
    ],
)
def test_login_with_missing_or_wrong_typed_fields_is_400(app, api, body):
    response = api.post("/api/auth/login", json=body)
    assert response.status_code == 400


def test_login_with_malformed_json_is_400(app, api):
    response = api.post("/api/auth/login", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": "Request body is not valid JSON"}


def test_repeated_failures_for_one_login_get_429(app, api, config):
    user = factories.user()
    for _ in range(config.login_max_failures):
        assert login(api, user.username, "wrong").status_code == 401
    locked = login(api, user.username)  # even the right password, while locked
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    other = factories.user()
    assert login(api, other.username).status_code == 204


def _from(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_failures_on_many_accounts_from_one_address_get_429(app, api, config):
    # Spraying: one wrong password for each of many accounts, from one address.
    ceiling = config.login_max_failures * auth.ACCOUNTS_PER_ADDRESS
    for n in range(ceiling):
        assert login(api, f"nobody{n}", "wrong").status_code == 401
    user = factories.user()
    locked = login(api, user.username)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert login(api, user.username, **_from("192.0.2.9")).status_code == 204


def test_failures_against_one_account_never_lock_out_another(app, api, config):
    target, other = factories.user(), factories.user()
    # Far past the per-account limit, and past what the per-address ceiling counts in failures.
    for _ in range(config.login_max_failures * auth.ACCOUNTS_PER_ADDRESS + 5):
        assert login(api, target.username, "wrong").status_code in (401, 429)
    assert login(api, target.username).status_code == 429  # that account is locked
    # ...for everyone, as the per-account limit wants; but only that account.
    assert login(api, target.username, **_from("192.0.2.9")).status_code == 429
    assert login(api, other.username).status_code == 204


def test_a_client_sent_x_real_ip_does_not_dodge_the_address_limit(app, api, config):
    ceiling = config.login_max_failures * auth.ACCOUNTS_PER_ADDRESS
    for n in range(ceiling):
        spoofed = {"X-Real-IP": f"198.51.100.{n % 250}", "X-Forwarded-For": f"203.0.113.{n}"}
        assert login(api, f"nobody{n}", "wrong", headers=spoofed).status_code == 401
    user = factories.user()
    assert login(api, user.username, headers={"X-Real-IP": "192.0.2.77"}).status_code == 429


def test_a_success_takes_the_account_off_the_address_count(app, api, config):
    ceiling = config.login_max_failures * auth.ACCOUNTS_PER_ADDRESS
    users = [factories.user() for _ in range(2)]
    for user in users:
        assert login(api, user.username, "typo").status_code == 401
        assert login(api, user.username).status_code == 204
    for n in range(ceiling - 1):
        assert login(api, f"nobody{n}", "wrong").status_code == 401
    # The two typos were forgiven by their logins: one more account still fits.
    assert login(api, "one-more", "wrong").status_code == 401
    assert login(api, users[0].username).status_code == 429


def test_success_resets_the_failure_count(app, api, config):
    user = factories.user()
    for _ in range(config.login_max_failures - 1):
        login(api, user.username, "wrong")
    assert login(api, user.username).status_code == 204
    for _ in range(config.login_max_failures - 1):
        assert login(api, user.username, "wrong").status_code == 401
    assert login(api, user.username).status_code == 204


def test_logout_ends_the_session_server_side(app, api):
    user = factories.user()
    login(api, user.username)
    cookie = api.client.get_cookie("semaphore")
    assert api.post("/api/auth/logout").status_code == 204
    assert api.get("/api/user").status_code == 401
    # Replaying the old cookie does not bring the session back.
    api.client.set_cookie("semaphore", cookie.value)
    assert api.get("/api/user").status_code == 401
    assert db.session.query(Session).one().expired is True


def test_idle_session_expires_after_seven_days(app, api):
    from datetime import timedelta

    from semaphore.models import utcnow

    user = factories.user()
    login(api, user.username)
    row = db.session.query(Session).one()
    row.last_active = utcnow() - timedelta(days=8)
    db.session.commit()
    assert api.get("/api/user").status_code == 401


def test_tampered_cookie_is_refused(app, api):
    user = factories.user()
    login(api, user.username)
    cookie = api.client.get_cookie("semaphore")
    api.client.set_cookie("semaphore", cookie.value[:-2] + "xx")
    assert api.get("/api/user").status_code == 401


def test_bearer_token_authenticates(app, api):
    user = factories.user()
    token = factories.api_token(user)
    response = api.get("/api/user", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["id"] == user.id
    assert (
        api.get("/api/user", headers={"Authorization": f"bearer {token.upper()}"}).status_code
        == 200
    )


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Basic abc", "Token xyz"])
def test_bad_authorization_header_is_401(app, api, header):
    assert api.get("/api/user", headers={"Authorization": header}).status_code == 401
