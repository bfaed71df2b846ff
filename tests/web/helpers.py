"""Driving the HTML pages with the test client: CSRF tokens, logging in."""

from __future__ import annotations

import re

from tests import factories
from tests.contract import request_in_own_context

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


class Browser:
    """A test client that keeps cookies and sends each request in its own app context."""

    def __init__(self, app) -> None:
        self.client = app.test_client()

    def get(self, path: str, **kwargs):
        return request_in_own_context(self.client, path, method="GET", **kwargs)

    def post(self, path: str, **kwargs):
        return request_in_own_context(self.client, path, method="POST", **kwargs)

    def delete(self, path: str, **kwargs):
        return request_in_own_context(self.client, path, method="DELETE", **kwargs)

    def submit(self, path: str, data: dict, **kwargs):
        """GET the form page, then POST the fields with its CSRF token."""
        token = csrf_token(self.get(path).get_data(as_text=True))
        return self.post(path, data={"csrf_token": token, **data}, **kwargs)

    def log_in(self, user, password: str = factories.DEFAULT_PASSWORD):
        response = self.submit("/auth/login", {"auth": user.username, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)
        return response
