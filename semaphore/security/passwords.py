"""bcrypt password hashes (the original uses cost 11)."""

from __future__ import annotations

import bcrypt

# Checked against when a login names no user, so that both paths take the same time.
_DUMMY_HASH = bcrypt.hashpw(b"not a password", bcrypt.gensalt(4))


def hash_password(password: str, cost: int = 11) -> str:
    """A bcrypt hash of the password."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(cost)).decode("ascii")


def check_password(password: str, hashed: str | None) -> bool:
    """True when the password matches the hash; False for an empty or malformed hash."""
    if not hashed:
        bcrypt.checkpw(b"x", _DUMMY_HASH)
        return False
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed.encode("ascii"))
    except ValueError:
        return False
