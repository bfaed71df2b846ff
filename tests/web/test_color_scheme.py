"""The colour scheme: the user option `color_scheme` ("auto", "light" or "dark", as JSON text like
every user option), the user menu's switch that stores it, and pages rendered in it."""

from __future__ import annotations

import re

import pytest

from semaphore.extensions import db
from semaphore.models import Option
from tests import factories
from tests.web.helpers import csrf_token

ERROR = 'color_scheme must be "auto", "light" or "dark" (a JSON string)'
CALLERS = ("admin", "owner", "manager", "task_runner", "guest", "outsider")


def stored(user) -> str | None:
    row = db.session.get(Option, f"user{user.id}.color_scheme")
    db.session.expire_all()
    return row.value if row else None


def theme_of(html: str) -> str:
    match = re.search(r'<html lang="en" data-theme="(\w+)">', html)
    assert match, "the page has no data-theme on <html>"
    return match.group(1)


def caller(kind: str):
    """A signed-in user of each kind; the switch is the same for every role."""
    user = factories.user(admin=kind == "admin")
    if kind not in ("admin", "outsider"):
        factories.project(members={user: kind})
    return user


@pytest.mark.parametrize("scheme", ["auto", "light", "dark"])
def test_the_api_stores_a_scheme_and_pages_render_it(web, user_api, scheme):
    response = user_api.post(
        "/api/user/options", json={"key": "color_scheme", "value": f'"{scheme}"'}
    )
    assert response.status_code == 200
    assert response.get_json() == {"key": "color_scheme", "value": f'"{scheme}"'}
    assert user_api.get("/api/user/options").get_json() == {"color_scheme": f'"{scheme}"'}
    web.log_in(user_api.user)
    html = web.get("/").get_data(as_text=True)
    assert theme_of(html) == scheme
    assert f'data-color-scheme="{scheme}"' in html  # what a boosted swap brings along
    meta = "light dark" if scheme == "auto" else scheme
    assert f'<meta name="color-scheme" content="{meta}">' in html
    pressed = re.findall(r'value="(\w+)" aria-pressed="true"', html)
    assert pressed == [scheme]


@pytest.mark.parametrize(
    "value",
    ['"purple"', "dark", '"Dark"', '" dark"', '""', "null", "1", '["dark"]', '{"dark": true}'],
)
def test_the_api_refuses_any_other_scheme(user_api, value):
    response = user_api.post("/api/user/options", json={"key": "color_scheme", "value": value})
    assert response.status_code == 400
    assert response.get_json() == {"error": ERROR}
    assert stored(user_api.user) is None


def test_without_an_option_pages_follow_the_os(web, app):
    assert theme_of(web.get("/auth/login").get_data(as_text=True)) == "auto"
    web.log_in(factories.user())
    html = web.get("/").get_data(as_text=True)
    assert theme_of(html) == "auto"
    assert '<meta name="color-scheme" content="light dark">' in html


def test_a_stored_value_the_check_never_saw_renders_auto(web, app):
    # Written around the allowlist (a restore, a hand edit): the page still renders.
    user = factories.user()
    db.session.add(Option(key=f"user{user.id}.color_scheme", value="not json"))
    db.session.commit()
    web.log_in(user)
    response = web.get("/")
    assert response.status_code == 200
    assert theme_of(response.get_data(as_text=True)) == "auto"


@pytest.mark.parametrize("kind", CALLERS)
def test_every_signed_in_user_switches_their_own_scheme(web, app, kind):
    user, other = caller(kind), factories.user()
    web.log_in(user)
    token = csrf_token(web.get("/account").get_data(as_text=True))
    response = web.post(
        "/account/color-scheme",
        data={"csrf_token": token, "color_scheme": "dark", "next": "/account?tab=1"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/account?tab=1"
    assert stored(user) == '"dark"' and stored(other) is None
    assert theme_of(web.get("/").get_data(as_text=True)) == "dark"

    # From the menu's htmx form: no content, the page's script has recoloured it.
    response = web.post(
        "/account/color-scheme",
        data={"csrf_token": token, "color_scheme": "light"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert stored(user) == '"light"'


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/x", ""])
def test_the_switch_returns_only_to_this_site(web, app, next_path):
    web.log_in(factories.user())
    token = csrf_token(web.get("/").get_data(as_text=True))
    response = web.post(
        "/account/color-scheme",
        data={"csrf_token": token, "color_scheme": "auto", "next": next_path},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("value", ["purple", "", '"dark"', "DARK"])
def test_the_switch_refuses_other_values(web, app, value):
    user = factories.user()
    web.log_in(user)
    token = csrf_token(web.get("/").get_data(as_text=True))
    response = web.post("/account/color-scheme", data={"csrf_token": token, "color_scheme": value})
    assert response.status_code == 400
    assert "color_scheme must be" in response.get_data(as_text=True)
    assert stored(user) is None


def test_the_switch_needs_a_csrf_token(web, app):
    user = factories.user()
    web.log_in(user)
    response = web.post("/account/color-scheme", data={"color_scheme": "dark"})
    assert response.status_code == 400
    assert stored(user) is None


def test_anonymous_cannot_switch(web, app):
    token = csrf_token(web.get("/auth/login").get_data(as_text=True))
    response = web.post("/account/color-scheme", data={"csrf_token": token, "color_scheme": "dark"})
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert db.session.query(Option).count() == 0
