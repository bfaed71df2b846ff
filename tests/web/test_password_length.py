"""The minimum password length: one service rule for the API, the pages and the CLI."""

from __future__ import annotations

import pytest

from semaphore.extensions import db
from semaphore.models import User
from semaphore.security.passwords import check_password
from tests import factories

NEW = {"username": "jdoe", "name": "Jane Doe", "email": "jane@example.com"}


def test_api_refuses_seven_characters_and_accepts_eight(admin_api, app):
    refused = admin_api.post("/api/users", json={**NEW, "password": "1234567"})
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "The password must be at least 8 characters long"}
    assert db.session.query(User).filter_by(username="jdoe").first() is None

    assert admin_api.post("/api/users", json={**NEW, "password": "12345678"}).status_code == 201
    user = db.session.query(User).filter_by(username="jdoe").one()

    short = admin_api.post(f"/api/users/{user.id}/password", json={"password": "abcdefg"})
    assert short.status_code == 400 and "at least 8" in short.get_json()["error"]
    update = admin_api.put(f"/api/users/{user.id}", json={**NEW, "password": "abcdefg"})
    assert update.status_code == 400 and "at least 8" in update.get_json()["error"]
    db.session.expire_all()
    assert check_password("12345678", user.password)

    assert (
        admin_api.post(f"/api/users/{user.id}/password", json={"password": "abcdefgh"}).status_code
        == 204
    )
    db.session.expire_all()
    assert check_password("abcdefgh", user.password)
    assert admin_api.put(f"/api/users/{user.id}", json={**NEW, "password": "ABCDEFGH"}).status_code
    db.session.expire_all()
    assert check_password("ABCDEFGH", user.password)


@pytest.mark.parametrize("config_overrides", [{"password_min_length": 12}])
def test_the_setting_changes_the_minimum(admin_api, app, web):
    refused = admin_api.post("/api/users", json={**NEW, "password": "12345678901"})
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "The password must be at least 12 characters long"}
    assert admin_api.post("/api/users", json={**NEW, "password": "123456789012"}).status_code == 201

    web.log_in(factories.user(admin=True, username="root", email="root@example.com"))
    page = web.submit(
        "/users/new",
        {"name": "B", "username": "b", "email": "b@example.com", "password": "12345678901"},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert 'data-testid="error-password"' in html and "at least 12 characters" in html


def test_pages_show_the_rule_at_the_field(web, app):
    admin = factories.user(admin=True, username="root", email="root@example.com")
    web.log_in(admin)
    form = web.get("/users/new").get_data(as_text=True)
    assert "At least 8 characters." in form
    fields = {"name": "Ada", "username": "ada", "email": "ada@example.com"}
    refused = web.submit("/users/new", {**fields, "password": "1234567"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'data-testid="error-password"' in html
    assert "The password must be at least 8 characters long" in html
    assert db.session.query(User).filter_by(username="ada").first() is None
    assert web.submit("/users/new", {**fields, "password": "12345678"}).status_code == 303
    ada = db.session.query(User).filter_by(username="ada").one()

    # The profile page (My account -> Edit profile and password) of the user themself.
    web_self = type(web)(app)
    web_self.log_in(ada, "12345678")
    edit = f"/users/{ada.id}/edit"
    changed = web_self.submit(edit, {**fields, "password": "short"})
    assert changed.status_code == 422
    assert "at least 8 characters" in changed.get_data(as_text=True)
    assert web_self.submit(edit, {**fields, "password": "long-enough"}).status_code == 303
    db.session.expire_all()
    assert check_password("long-enough", ada.password)
