"""OpenID Connect login against a real local provider (the oidc-provider-mock package).

`MockProvider` drives the provider's side the way a person would: it sets the claims of a
subject, then submits the provider's authorization form (or denies it). The browser tests use
it too, which is why it lives here rather than in conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from oidc_provider_mock import run_server_in_thread


class MockProvider:
    """A running oidc-provider-mock server on loopback."""

    def __init__(self, url: str) -> None:
        self.url = url

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """The claims the provider will issue for `sub` (an e-mail only when given here)."""
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        response.raise_for_status()

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Submit the authorization form as `sub`; the callback URL the provider answers with."""
        return self._submit(authorization_url, {"sub": sub})

    def deny(self, authorization_url: str) -> str:
        """Press the form's Deny button; the callback URL (with error=access_denied)."""
        return self._submit(authorization_url, {"action": "deny"})

    def register_client(self, redirect_uri: str) -> tuple[str, str]:
        """A client registered with the provider: (client_id, client_secret)."""
        response = requests.post(
            f"{self.url}/oauth2/clients", json={"redirect_uris": [redirect_uri]}, timeout=10
        )
        response.raise_for_status()
        body = response.json()
        return body["client_id"], body["client_secret"]

    def _submit(self, authorization_url: str, form: dict[str, str]) -> str:
        assert authorization_url.startswith(f"{self.url}/oauth2/authorize?"), authorization_url
        response = requests.post(authorization_url, data=form, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]


@contextmanager
def running_provider(**options: Any) -> Iterator[MockProvider]:
    """Start a provider on a free loopback port (options as `run_server_in_thread`)."""
    with run_server_in_thread(**options) as server:
        yield MockProvider(f"http://localhost:{server.server_port}")
