"""A real slapd per xdist worker, and the app's LDAP settings pointed at it.

A test changes LDAP settings by parametrizing `ldap_settings` (e.g. other mappings), or, for
values that depend on the running slapd (its TLS port), with `reconfigure`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from semaphore.config import Config
from tests.ldap_server import Slapd
from tests.services import free_port


@pytest.fixture(scope="session")
def slapd(services_root: Path) -> Iterator[Slapd]:
    server = Slapd(services_root / "slapd").start()
    yield server
    server.stop()


@pytest.fixture
def ldap_settings() -> dict:
    """Changes to the default LDAP settings of `slapd.settings()`."""
    return {}


@pytest.fixture
def config_overrides(slapd: Slapd, ldap_settings: dict) -> dict:
    return slapd.settings(**ldap_settings)


@pytest.fixture
def reconfigure(app) -> Callable[..., Config]:
    """Change the running app's settings (e.g. to the slapd's TLS port) for the rest of a test."""

    def apply(**changes: object) -> Config:
        app.config["SEMAPHORE"] = dataclasses.replace(app.config["SEMAPHORE"], **changes)
        return app.config["SEMAPHORE"]

    return apply


@pytest.fixture
def directory_down() -> str:
    """host:port of a loopback port nobody listens on."""
    return f"127.0.0.1:{free_port()}"
