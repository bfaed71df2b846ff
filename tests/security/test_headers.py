"""Every response carries the security headers: pages, API answers and errors, static files,
redirects, error pages and the ANSI stylesheet; HSTS only when served over https."""

from __future__ import annotations

import pytest

from semaphore.security.headers import CONTENT_SECURITY_POLICY, HSTS
from tests import factories
from tests.contract import request_in_own_context
from tests.web.helpers import Browser

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _assert_secured(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.status_code)


def test_the_csp_allows_only_our_own_scripts_and_styles():
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_a_page_a_redirect_and_a_404_page(app):
    owner = factories.user(username="olive")
    project = factories.project(name="Apollo", members={owner: "owner"})
    web = Browser(app)

    login = web.get("/auth/login")
    assert login.status_code == 200
    _assert_secured(login)

    redirect = web.log_in(owner)
    assert redirect.status_code == 303
    _assert_secured(redirect)

    page = web.get(f"/project/{project.id}/templates")
    assert page.status_code == 200
    _assert_secured(page)

    missing = web.get("/no/such/page")
    assert missing.status_code == 404
    assert "text/html" in missing.content_type
    _assert_secured(missing)


def test_api_answers_and_errors(app):
    owner = factories.user(username="olive")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {factories.api_token(owner)}"}

    user = request_in_own_context(client, "/api/user", headers=headers)
    assert user.status_code == 200
    assert user.is_json
    _assert_secured(user)

    unauthorized = request_in_own_context(client, "/api/user")
    assert unauthorized.status_code == 401
    assert unauthorized.is_json
    _assert_secured(unauthorized)

    missing = request_in_own_context(client, "/api/project/999999", headers=headers)
    assert missing.status_code == 404
    _assert_secured(missing)


def test_static_files_and_the_ansi_stylesheet(app):
    client = app.test_client()
    for path in ("/static/css/app.css", "/static/vendor/htmx-2.0.11.min.js", "/ansi.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_secured(response)
        response.close()


def test_an_unexpected_error_page(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    _assert_secured(response)


def test_a_header_a_route_sets_is_kept(app):
    @app.get("/framed")
    def framed():
        return "framed", 200, {"X-Frame-Options": "SAMEORIGIN"}

    response = app.test_client().get("/framed")
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_no_hsts_over_plain_http(app):
    response = app.test_client().get("/auth/login")
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("config_overrides", [{"web_host": "https://semaphore.example.com"}])
def test_hsts_when_the_web_host_is_https(app):
    client = app.test_client()
    for path in ("/auth/login", "/api/ping", "/static/css/app.css"):
        response = client.get(path, base_url="https://semaphore.example.com")
        assert response.headers["Strict-Transport-Security"] == HSTS, path
        _assert_secured(response)
        response.close()
