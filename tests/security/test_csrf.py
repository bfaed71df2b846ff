"""CSRF: cookie-authenticated API writes need the session's token, cross-site writes are
refused, bearer tokens are unaffected; HTML forms without their token write nothing."""

from __future__ import annotations

import pytest

from semaphore.extensions import db
from semaphore.models import APIToken, Project, Session, User
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


def token(api) -> str:
    return api.client.get_cookie("semaphore_csrf").value


def test_a_cookie_write_without_the_token_is_403_and_writes_nothing(signed_in):
    refused = signed_in.post("/api/projects", json={"name": "Forged"})
    assert refused.status_code == 403
    assert "CSRF token missing or invalid" in refused.get_json()["error"]
    wrong = signed_in.post("/api/projects", json={"name": "Forged"}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    assert db.session.query(Project).count() == 0

    made = signed_in.post(
        "/api/projects", json={"name": "Real"}, headers={"X-CSRF-Token": token(signed_in)}
    )
    assert made.status_code == 201
    project_id = made.get_json()["id"]
    # Flask-WTF's header name (what our pages' htmx sends) is accepted too.
    renamed = signed_in.put(
        f"/api/project/{project_id}",
        json={"id": project_id, "name": "Renamed"},
        headers={"X-CSRFToken": token(signed_in)},
    )
    assert renamed.status_code == 204
    assert signed_in.delete(f"/api/project/{project_id}").status_code == 403
    assert db.session.query(Project).one().name == "Renamed"


def test_reads_need_no_token(signed_in):
    assert signed_in.get("/api/projects").status_code == 200


def test_logout_by_cookie_needs_the_token(signed_in):
    assert signed_in.post("/api/auth/logout").status_code == 403
    assert signed_in.get("/api/user").status_code == 200
    headers = {"X-CSRF-Token": token(signed_in)}
    assert signed_in.post("/api/auth/logout", headers=headers).status_code == 204


def test_bearer_requests_need_no_token(app, admin_api):
    assert admin_api.post("/api/projects", json={"name": "Scripted"}).status_code == 201


def test_the_token_changes_with_each_login(app, api, signed_in):
    first = token(signed_in)
    signed_in.post("/api/auth/logout", headers={"X-CSRF-Token": first})
    assert signed_in.client.get_cookie("semaphore_csrf") is None
    signed_in.post(
        "/api/auth/login",
        json={"auth": signed_in.user.username, "password": factories.DEFAULT_PASSWORD},
    )
    refused = signed_in.post("/api/projects", json={"name": "Old"}, headers={"X-CSRF-Token": first})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_writes_are_refused_even_with_the_token(signed_in, headers):
    response = signed_in.post(
        "/api/projects",
        json={"name": "Cross"},
        headers={"X-CSRF-Token": token(signed_in), **headers},
    )
    assert response.status_code == 403
    assert response.get_json() == {"error": "Cross-site request refused"}
    assert db.session.query(Project).count() == 0


def test_same_origin_writes_pass(signed_in):
    response = signed_in.post(
        "/api/projects",
        json={"name": "Same"},
        headers={
            "X-CSRF-Token": token(signed_in),
            "Origin": "http://localhost",
            "Sec-Fetch-Site": "same-origin",
        },
    )
    assert response.status_code == 201


def test_a_cross_site_login_is_refused(app, api):
    user = factories.user()
    response = api.post(
        "/api/auth/login",
        json={"auth": user.username, "password": factories.DEFAULT_PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert db.session.query(Session).count() == 0


def test_an_html_form_without_its_token_is_refused_and_writes_nothing(app):
    admin = factories.user(admin=True, username="root")
    web = Browser(app)
    web.log_in(admin)
    fields = {"name": "Mallory", "username": "mallory", "email": "m@example.com", "password": "pw"}
    refused = web.post("/users/new", data=fields)
    assert refused.status_code == 400
    assert "The form has expired or was not sent from this site" in refused.get_data(as_text=True)
    assert db.session.query(User).filter_by(username="mallory").count() == 0

    no_token = web.post("/account/tokens", data={"name": "forged"})
    assert no_token.status_code == 400
    assert db.session.query(APIToken).count() == 0

    no_login_token = Browser(app).post("/auth/login", data={"auth": "root", "password": "x"})
    assert no_login_token.status_code == 400
