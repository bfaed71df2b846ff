"""The option table: config paths admins override (`apps.bash.path`) and each user's own options.

Per-user options are stored as `user<id>.<key>`; users name only the key, from an allowlist,
so that nobody can read or write another user's options or a global one through them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from semaphore.errors import PermissionDenied, ValidationError
from semaphore.extensions import db
from semaphore.models import Option, User
from semaphore.schemas.base import parse
from semaphore.schemas.options import COLOR_SCHEMES, OptionIn, UserOptionIn
from semaphore.services import apps
from semaphore.services import validation as v

_USER_KEY = re.compile(r"user[0-9]+\.")


def list_options(actor: User) -> dict[str, str]:
    """Every global option as a flat `{key: value}` map; per-user options are left out.

    Raises:
        PermissionDenied: the actor is not an admin.
    """
    _require_admin(actor)
    rows = db.session.scalars(select(Option).order_by(Option.key))
    return {row.key: row.value for row in rows if not _USER_KEY.match(row.key)}


def set_option(actor: User, data: Any) -> dict[str, str]:
    """Store `{"key", "value"}` for a known config path; an empty value deletes the option.

    Returns the pair as stored.

    Raises:
        PermissionDenied: the actor is not an admin.
        ValidationError: the key is not a known config path, or the value does not fit it.
    """
    _require_admin(actor)
    body = _parse(OptionIn, data)
    key, value = body.key, body.value
    # apps.<id>.<field> is the only config path that is read back from options so far.
    if not key.startswith(apps.OPTION_PREFIX):
        raise ValidationError("Unknown option key", "key")
    stored = apps.store_app_option(key, value)
    db.session.commit()
    return {"key": key, "value": stored}


def list_user_options(actor: User) -> dict[str, str]:
    """The actor's own options, keys without their `user<id>.` prefix (`{}` when none)."""
    prefix = _user_prefix(actor)
    rows = db.session.scalars(
        select(Option).where(Option.key.startswith(prefix, autoescape=True)).order_by(Option.key)
    )
    return {row.key.removeprefix(prefix): row.value for row in rows}


def set_user_option(actor: User, data: Any) -> dict[str, str]:
    """Store one of the actor's own options; the value must be JSON text, as in the original.

    Raises:
        ValidationError: a key outside the allowlist, or a value that is not JSON or too long.
    """
    body = _parse(UserOptionIn, data)
    key, value = body.key, body.value
    v.parse_json_text(value, "value", message="User option value must be valid JSON")
    db.session.merge(Option(key=_user_prefix(actor) + key, value=value))
    db.session.commit()
    return {"key": key, "value": value}


def color_scheme(actor: User) -> str:
    """The actor's colour scheme for the pages: "auto" (follow the OS), "light" or "dark"."""
    stored = db.session.get(Option, _user_prefix(actor) + "color_scheme")
    try:
        value = json.loads(stored.value) if stored else "auto"
    except ValueError:  # written around the allowlist's check (a restore, by hand)
        return "auto"
    return value if value in COLOR_SCHEMES else "auto"


def set_color_scheme(actor: User, scheme: str) -> dict[str, str]:
    """Store the actor's colour scheme, as /api/user/options stores it (a JSON string).

    Raises:
        ValidationError: not one of "auto", "light" or "dark".
    """
    return set_user_option(actor, {"key": "color_scheme", "value": json.dumps(scheme)})


def _parse(model: type[OptionIn], data: Any) -> OptionIn:
    # The model tells a null value ("must be a string") from an absent one ("is required").
    given = tuple(data) if isinstance(data, Mapping) else ()
    return parse(model, data, context={"given": given})


def delete_user_options(user_id: int) -> None:
    """Drop a deleted user's options (the caller commits), so a later user with a reused id
    does not inherit them."""
    db.session.execute(delete(Option).where(Option.key.startswith(f"user{user_id}.")))


def _user_prefix(actor: User) -> str:
    return f"user{actor.id}."


def _require_admin(actor: User) -> None:
    if not actor.admin:
        raise PermissionDenied("User must be admin")
