"""In the browser: sign in through a real local OpenID Connect provider (oidc-provider-mock),
and see a tampered state refused on the login page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import User
from tests.oidc import MockProvider, running_provider

pytestmark = pytest.mark.browser

# Collects the page's CSP violations (from the first script that runs on each full load).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push({directive: event.violatedDirective, blocked: event.blockedURI});
});
"""


@pytest.fixture(scope="module")
def provider() -> Iterator[MockProvider]:
    with running_provider(require_nonce=True) as server:
        yield server


@pytest.fixture
def config_overrides(provider: MockProvider) -> dict:
    return {
        "oidc_providers": {
            "mock": {
                "provider_url": provider.url,
                "client_id": "semaphore",
                "client_secret": "browser-client-secret",
                "display_name": "Sign in with Mock SSO",
                "color": "indigo",
                "name_claim": "name",
            }
        }
    }


@pytest.fixture
def oidc_page(page: Page) -> Page:
    # The provider's own pages load a stylesheet from a CDN: no network here, so fail it fast.
    page.route(re.compile(r"^https://cdn\.jsdelivr\.net/"), lambda route: route.abort())
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def authorize_as(page: Page, provider: MockProvider, sub: str) -> None:
    """On the provider's authorization form: type the subject and authorize."""
    expect(page).to_have_url(re.compile(rf"^{re.escape(provider.url)}/oauth2/authorize\?"))
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_sign_in_with_the_provider(app, live_server, oidc_page, provider, screenshot):
    page = oidc_page
    provider.set_user(
        "grace",
        {"email": "grace@example.com", "preferred_username": "Grace", "name": "Grace Hopper"},
    )
    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    button = page.get_by_test_id("oidc-mock")
    expect(button).to_have_text("Sign in with Mock SSO")
    expect(button).to_have_class(re.compile(r"\boidc-color-indigo\b"))
    expect(page.get_by_test_id("login-form")).to_be_visible()
    screenshot("login-oidc")
    assert page.evaluate("window.__cspViolations") == []

    button.click()
    authorize_as(page, provider, "grace")

    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_test_id("empty-dashboard")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_contain_text("Grace Hopper")
    screenshot("dashboard-oidc")
    user = db.session.query(User).filter_by(email="grace@example.com").one()
    assert (user.username, user.external, user.admin) == ("grace", True, False)


def test_a_tampered_state_shows_an_error(app, live_server, oidc_page, provider, screenshot):
    page = oidc_page
    provider.set_user("mallory", {"email": "mallory@example.com", "name": "Mallory"})
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("oidc-mock").click()
    expect(page).to_have_url(re.compile(r"/oauth2/authorize\?"))

    # Ask the provider again with another state: it comes back with a state we never issued.
    parts = urlsplit(page.url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    page.goto(urlunsplit(parts._replace(query=urlencode({**query, "state": "forged"}))))
    authorize_as(page, provider, "mallory")

    expect(page).to_have_url(f"{live_server}/auth/login")
    expect(page.get_by_test_id("flash")).to_contain_text("could not be matched to this browser")
    expect(page.get_by_test_id("login-form")).to_be_visible()
    screenshot("login-oidc-refused")
    assert page.evaluate("window.__cspViolations") == []
    assert db.session.query(User).filter_by(email="mallory@example.com").first() is None
