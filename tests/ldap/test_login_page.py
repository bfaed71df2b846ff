"""The HTML login page with LDAP on."""

from __future__ import annotations

import pytest

from tests.web.helpers import Browser


@pytest.fixture
def web(app) -> Browser:
    return Browser(app)


def test_directory_user_signs_in_on_the_page(web):
    response = web.submit("/auth/login", {"auth": "alice", "password": "alice-pw"})
    assert response.status_code == 303
    assert "Alice Liddell" in web.get("/").get_data(as_text=True)


def test_wrong_directory_password_shows_a_form_error(web):
    response = web.submit("/auth/login", {"auth": "alice", "password": "wrong"})
    assert response.status_code == 422
    assert "Invalid login or password" in response.get_data(as_text=True)


def test_directory_down_is_a_503_form_error(web, reconfigure, directory_down):
    reconfigure(ldap_server=directory_down)
    response = web.submit("/auth/login", {"auth": "alice", "password": "alice-pw"})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "LDAP server unavailable" in page
    assert 'data-testid="form-error"' in page and 'data-testid="login-form"' in page
