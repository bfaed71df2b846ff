"""Logging in against an LDAP directory (ldap_* settings). Placeholder: being written."""

from __future__ import annotations

from semaphore.models import User


def authenticate(login: str, password: str) -> User | None:
    """The external user for these directory credentials; None when the directory lacks the login.

    Raises:
        NotAuthenticated: the entry exists but the password is wrong, or a local user owns the name.
        ServiceUnavailable: the directory cannot be reached or the settings are wrong.
    """
    return None
