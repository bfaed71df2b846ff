"""Driving the HTML pages with the test client: CSRF tokens, logging in."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

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


class _FormValues(HTMLParser):
    """What a browser sends for the first form of a page, as it stands: inputs with their
    values, checked boxes, selected options, textareas (no buttons)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._in_form = self._done = False
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form" and not self._done:
            self._in_form = True
        if not self._in_form or "name" not in found and tag != "option":
            return
        kind = found.get("type", "text")
        if tag == "input" and kind not in ("submit", "button", "file"):
            box = kind in ("checkbox", "radio")
            if not box or "checked" in found:
                self.values.append((found["name"], found.get("value", "on" if box else "")))
        elif tag == "textarea":
            self._textarea = found["name"]
            self.values.append((self._textarea, ""))
        elif tag == "select":
            self._select = found["name"]
        elif tag == "option" and self._select and "selected" in found:
            self.values.append((self._select, found.get("value", "")))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.values[-1]
            self.values[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def form_values(html: str) -> MultiDict:
    """The first form's values as a browser would send them unchanged."""
    parser = _FormValues()
    parser.feed(html)
    values = parser.values
    # A textarea's first newline belongs to the markup, not the value.
    return MultiDict([(name, re.sub(r"^\r?\n", "", value)) for name, value in values])
