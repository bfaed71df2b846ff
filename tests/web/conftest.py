"""Fixtures the page tests share: a logged-out browser-like client, and a project "Apollo"
owned by "owner"."""

from __future__ import annotations

import pytest

from tests import factories
from tests.web.helpers import Browser


@pytest.fixture
def web(app) -> Browser:
    return Browser(app)


@pytest.fixture
def owner(app):
    return factories.user(username="owner", name="Olive Owner")


@pytest.fixture
def project(owner):
    return factories.project(name="Apollo", members={owner: "owner"})
