"""The session cookie is HttpOnly and SameSite=Lax always, and Secure whenever HTTPS is in use."""

from __future__ import annotations

import pytest

from tests import factories


def login_cookies(app, base_url: str = "http://localhost") -> dict[str, str]:
    user = factories.user()
    client = app.test_client()
    response = client.post(
        "/api/auth/login",
        json={"auth": user.username, "password": factories.DEFAULT_PASSWORD},
        base_url=base_url,
    )
    assert response.status_code == 204
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def test_plain_http_cookies_are_not_secure(app):
    cookies = login_cookies(app)
    assert "HttpOnly" in cookies["semaphore"] and "SameSite=Lax" in cookies["semaphore"]
    assert "Secure" not in cookies["semaphore"]


def test_a_request_over_https_gets_secure_cookies(app):
    cookies = login_cookies(app, base_url="https://localhost")
    assert "Secure" in cookies["semaphore"]
    assert "HttpOnly" in cookies["semaphore"]


@pytest.mark.parametrize("config_overrides", [{"web_host": "https://semaphore.example.com"}])
def test_an_https_web_host_makes_cookies_secure_behind_a_proxy(app):
    # The proxy ends TLS; the app sees plain http but knows its public address is https.
    cookies = login_cookies(app)
    assert "Secure" in cookies["semaphore"]
