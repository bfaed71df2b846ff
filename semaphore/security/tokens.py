"""Random tokens, and the digests we store instead of them."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string

ALIAS_ALPHABET = string.ascii_lowercase + string.digits


def new_api_token() -> str:
    """32 random bytes, URL-safe base64, lower-cased: the original's API token format."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").lower()


def new_runner_token() -> str:
    """32 random bytes, standard base64: the original's runner (and registration) token."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def digest(token: str) -> str:
    """SHA-256 hex digest of a token, the form tokens are stored in."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_alias(length: int = 16) -> str:
    """A random lower-case alphanumeric string (integration aliases)."""
    return "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(length))
