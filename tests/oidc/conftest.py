"""The provider runs once per test process; each test's app is configured to use it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oidc import MockProvider, running_provider

CLIENT_SECRET = "mock-client-secret-0123"


@pytest.fixture(scope="session")
def provider() -> Iterator[MockProvider]:
    # The nonce is required so that a login that forgets to send one fails.
    with running_provider(require_nonce=True) as server:
        yield server


@pytest.fixture
def provider_settings(request: pytest.FixtureRequest, provider: MockProvider) -> dict:
    """The `oidc_providers.mock` settings; parametrize it indirectly to change some."""
    return {
        "provider_url": provider.url,
        "client_id": "semaphore",
        "client_secret": CLIENT_SECRET,
        "display_name": "Mock SSO",
        "color": "teal",
        "name_claim": "display_name | name",
        **getattr(request, "param", {}),
    }


@pytest.fixture
def config_overrides(provider_settings: dict) -> dict:
    return {"oidc_providers": {"mock": provider_settings}}
