"""Objects as the API shows them: the contract's field names, secrets never included."""

from __future__ import annotations

from typing import Any

from semaphore.models import APIToken, User, isoformat
from semaphore.services.auth import login as auth


def user(row: User) -> dict[str, Any]:
    return {
        "id": row.id,
        "created": isoformat(row.created),
        "username": row.username,
        "name": row.name,
        "email": row.email,
        "admin": row.admin,
        "external": row.external,
        "alert": row.alert,
    }


def user_minimal(row: User) -> dict[str, Any]:
    """What non-admins see of other users."""
    return {"id": row.id, "username": row.username, "name": row.name}


def api_token(row: APIToken, raw: str | None = None) -> dict[str, Any]:
    """A token; its full value only in the creation response (`raw`)."""
    return {
        "id": raw or row.id,
        "name": row.name,
        "created": isoformat(row.created),
        "expired": auth.token_expired(row),
        "user_id": row.user_id,
        "expires": isoformat(row.expires),
    }
