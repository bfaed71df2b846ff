"""ldap_login.authenticate() itself: what only a direct call can show."""

from __future__ import annotations

import os
import subprocess

import pytest

from semaphore.errors import NotAuthenticated
from semaphore.services.auth import ldap as ldap_login
from tests.ldap_server import PEOPLE


def test_the_test_directory_accepts_unauthenticated_binds(slapd):
    # The trap below is armed: this slapd answers "success" to a DN with an empty password.
    whoami = subprocess.run(
        [
            "ldapwhoami",
            "-x",
            "-H",
            f"ldap://127.0.0.1:{slapd.port}",
            "-D",
            f"uid=alice,{PEOPLE}",
            "-w",
            "",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "LDAPRC": os.devnull},
    )
    assert whoami.returncode == 0, whoami.stderr


def test_empty_password_never_authenticates(app):
    with pytest.raises(NotAuthenticated):
        ldap_login.authenticate("alice", "")


def test_unknown_login_is_none(app):
    assert ldap_login.authenticate("nobody", "whatever") is None


def test_returns_the_user(app):
    user = ldap_login.authenticate("alice", "alice-pw")
    assert (user.username, user.external) == ("alice", True)
