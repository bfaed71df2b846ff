"""CSRF: cookie-authenticated API writes that a browser marks as cross-origin are refused and
write nothing; scripts (no Origin, no Sec-Fetch-Site) need no token, as with the original;
bearer tokens are unaffected; HTML forms without their token write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import APIToken, Event, Project, Session, User, UserTotp
from tests import factories
from tests.web.helpers import Browser


@pytest.fixture
def signed_in(app, api):
    user = factories.user(admin=True)
    assert (
        api.post(
            "/api/auth/login", json={"auth": user.username, "password": factories.DEFAULT_PASSWORD}
        ).status_code
        == 204
    )
    api.user = user
    return api


def row_counts() -> dict[str, int]:
    """Rows of every table a write below could touch."""
    db.session.expire_all()
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Project, APIToken, Event, Session, User, UserTotp)
    }


def test_a_cookie_script_writes_without_any_token(signed_in):
    made = signed_in.post("/api/projects", json={"name": "Scripted"})
    assert made.status_code == 201
    project_id = made.get_json()["id"]
    renamed = signed_in.put(
        f"/api/project/{project_id}", json={"id": project_id, "name": "Renamed"}
    )
    assert renamed.status_code == 204
    assert signed_in.post("/api/user/tokens").status_code == 201
    assert signed_in.delete(f"/api/project/{project_id}").status_code == 204


def test_a_stale_or_wrong_token_header_is_harmless(signed_in):
    # Clients written for our earlier rule send X-CSRF-Token; it is accepted, whatever it holds.
    for header in ("X-CSRF-Token", "X-CSRFToken"):
        response = signed_in.post("/api/projects", json={"name": header}, headers={header: "x"})
        assert response.status_code == 201


def test_logout_by_cookie_ends_the_session(signed_in):
    assert signed_in.post("/api/auth/logout").status_code == 204
    assert signed_in.get("/api/user").status_code == 401


def test_bearer_requests_pass_even_from_another_origin(app, admin_api):
    response = admin_api.post(
        "/api/projects", json={"name": "Scripted"}, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 201


CROSS_ORIGIN = [
    {"Origin": "http://evil.example"},
    {"Origin": "https://localhost.evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
]
WRITES = [
    ("POST", "/api/projects", {"name": "Cross"}),
    ("POST", "/api/user/tokens", None),
    (
        "POST",
        "/api/users",
        {"username": "m", "name": "M", "email": "m@x.io", "password": "pw-secret"},
    ),
    ("POST", "/api/auth/logout", None),
    ("POST", "/api/user/2fa/totp", None),
    ("DELETE", "/api/user/sessions", None),
]


@pytest.mark.parametrize("headers", CROSS_ORIGIN)
@pytest.mark.parametrize("method,path,body", WRITES, ids=lambda x: x if isinstance(x, str) else "")
def test_cross_origin_cookie_writes_are_refused_and_write_nothing(
    signed_in, headers, method, path, body
):
    before = row_counts()
    kwargs = {"json": body} if body is not None else {}
    response = signed_in.open(method, path, headers=headers, **kwargs)
    assert response.status_code == 403
    assert response.get_json() == {"error": "Cross-site request refused"}
    assert row_counts() == before
    # The session is still alive: a refused logout did not log anyone out.
    assert signed_in.get("/api/user").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://LOCALHOST"},
    ],
)
def test_same_origin_writes_pass(signed_in, headers):
    assert (
        signed_in.post("/api/projects", json={"name": "Same"}, headers=headers).status_code == 201
    )


@pytest.mark.parametrize("config_overrides", [{"web_host": "https://semaphore.example.com"}])
def test_the_public_web_host_counts_as_our_origin(signed_in):
    # Behind a proxy the Host header can be the internal one; the browser's Origin is public.
    headers = {"Origin": "https://semaphore.example.com"}
    assert (
        signed_in.post("/api/projects", json={"name": "Proxy"}, headers=headers).status_code == 201
    )


def test_a_cross_site_login_is_refused(app, api):
    user = factories.user()
    response = api.post(
        "/api/auth/login",
        json={"auth": user.username, "password": factories.DEFAULT_PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert db.session.query(Session).count() == 0


def test_reads_from_another_origin_are_not_refused(signed_in):
    # Reads change nothing, and the browser's same-origin policy keeps their answer private.
    response = signed_in.get("/api/projects", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200


def test_an_html_form_without_its_token_is_refused_and_writes_nothing(app):
    admin = factories.user(admin=True, username="root")
    web = Browser(app)
    web.log_in(admin)
    before = row_counts()
    fields = {"name": "Mallory", "username": "mallory", "email": "m@example.com", "password": "pw"}
    refused = web.post("/users/new", data=fields)
    assert refused.status_code == 400
    assert "The form has expired or was not sent from this site" in refused.get_data(as_text=True)
    no_token = web.post("/account/tokens", data={"name": "forged"})
    assert no_token.status_code == 400
    assert row_counts() == before

    no_login_token = Browser(app).post("/auth/login", data={"auth": "root", "password": "x"})
    assert no_login_token.status_code == 400
