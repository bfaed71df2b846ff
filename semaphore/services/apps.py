"""Apps (ansible, terraform, bash…): how each is shown and which program runs it.

An app's settings come in three layers, as in the original: built-in defaults, the config's
`apps.<id>` map, and `option` rows `apps.<id>.<field>` that admins write through the API.
`app_settings()` is the config and the options together, for the engine; `list_apps()` adds
the defaults, for display.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from semaphore.config import current_config
from semaphore.errors import NotFound, PermissionDenied, ValidationError
from semaphore.executables import find_executable
from semaphore.extensions import db
from semaphore.models import Option, User
from semaphore.services import validation as v

OPTION_PREFIX = "apps."
MAX_PRIORITY = 2**31 - 1
FIELDS = ("active", "priority", "title", "icon", "color", "dark_color", "path", "args")
_OPTION_KEY = re.compile(r"apps\.([a-z]+)\.([a-z_]+)")


@dataclass(frozen=True)
class AppDefaults:
    """What an app looks like when nothing is configured."""

    priority: int
    title: str
    icon: str
    color: str
    dark_color: str
    # The programs the engine runs for the app, in the order it looks for them.
    programs: tuple[str, ...]


# Priorities are the original's (util/config.go); the original server sends empty titles, icons
# and colors and its UI shows these (web/src/lib/constants.js APP_TITLE, APP_ICONS) instead.
DEFAULTS: dict[str, AppDefaults] = {
    "ansible": AppDefaults(
        1000, "Ansible Playbook", "mdi-ansible", "black", "white", ("ansible-playbook",)
    ),
    "terraform": AppDefaults(
        900, "Terraform Code", "mdi-terraform", "#7b42bc", "#7b42bc", ("terraform",)
    ),
    "terragrunt": AppDefaults(
        850, "Terragrunt Code", "$vuetify.icons.terragrunt", "#4b3b7a", "#4b3b7a", ("terragrunt",)
    ),
    "tofu": AppDefaults(800, "OpenTofu Code", "$vuetify.icons.tofu", "black", "white", ("tofu",)),
    "bash": AppDefaults(700, "Bash Script", "mdi-bash", "black", "white", ("bash",)),
    "powershell": AppDefaults(
        600, "PowerShell Script", "mdi-powershell", "", "", ("pwsh", "powershell")
    ),
    "python": AppDefaults(500, "Python Script", "mdi-language-python", "", "", ("python3",)),
}


# --- reading ----------------------------------------------------------------------------------


def app_settings() -> dict[str, dict[str, Any]]:
    """The config's `apps` map overlaid with the stored `apps.<id>.<field>` options."""
    settings = {
        app_id: dict(values)
        for app_id, values in current_config().apps.items()
        if isinstance(values, Mapping)
    }
    rows = db.session.scalars(
        select(Option).where(Option.key.startswith(OPTION_PREFIX, autoescape=True))
    )
    for row in rows:
        parsed = _parse_key(row.key)
        if parsed is None:
            continue
        app_id, field = parsed
        try:
            value = _from_text(field, row.value)
        except ValidationError:
            # Only validated values are written; a row edited by hand must not stop a task.
            continue
        settings.setdefault(app_id, {})[field] = value
    return settings


def list_apps() -> list[dict[str, Any]]:
    """Every app with its settings and defaults, highest priority first (any signed-in user)."""
    settings = app_settings()
    apps = [_describe(app_id, settings.get(app_id, {})) for app_id in DEFAULTS]
    return sorted(apps, key=lambda app: (-app["priority"], app["id"]))


def get_app(actor: User, app_id: str) -> dict[str, Any]:
    """One app as list_apps() shows it.

    Raises:
        PermissionDenied: the actor is not an admin.
        NotFound: no such app.
    """
    _require_admin(actor)
    _require_app(app_id)
    return _describe(app_id, app_settings().get(app_id, {}))


def _describe(app_id: str, configured: Mapping[str, Any]) -> dict[str, Any]:
    defaults = DEFAULTS[app_id]

    def text(field: str, default: str) -> str:
        value = configured.get(field)
        return value if isinstance(value, str) and value else default

    path = text("path", "")
    args = configured.get("args")
    priority = configured.get("priority")
    active = configured.get("active")
    return {
        "id": app_id,
        # Unless someone said otherwise, an app is active when the engine can find its program.
        "active": active if isinstance(active, bool) else _installed(defaults, path),
        # As in the original, a priority of 0 or less means the default.
        "priority": priority
        if isinstance(priority, int) and not isinstance(priority, bool) and priority > 0
        else defaults.priority,
        "title": text("title", defaults.title),
        "icon": text("icon", defaults.icon),
        "color": text("color", defaults.color),
        "dark_color": text("dark_color", defaults.dark_color),
        "path": path,
        "args": list(args) if _is_string_list(args) else [],
    }


def _installed(defaults: AppDefaults, path: str) -> bool:
    # The engine runs a configured path as it is, else the first program found (RunContext.program).
    if path:
        return find_executable(path) is not None
    return any(find_executable(program) for program in defaults.programs)


# --- writing ----------------------------------------------------------------------------------


def update_app(actor: User, app_id: str, data: Any) -> None:
    """Store each given field as an option; "", [] or null deletes it (back to config/default).

    Raises:
        PermissionDenied: the actor is not an admin.
        NotFound: no such app.
        ValidationError: a field has the wrong type or is too long (nothing is written).
    """
    _require_admin(actor)
    _require_app(app_id)
    changes = _texts(data)
    for field, value in changes.items():
        _store(f"{OPTION_PREFIX}{app_id}.{field}", value)
    db.session.commit()


def set_app_active(actor: User, app_id: str, data: Any) -> None:
    """Switch an app on or off: `{"active": true|false}`.

    Raises:
        PermissionDenied: the actor is not an admin.
        NotFound: no such app.
        ValidationError: `active` is missing or not a boolean.
    """
    # The schemas (pydantic) are imported where a body is checked: the worker reads the apps'
    # settings for every run and never checks one (issue 17).
    from semaphore.schemas.base import parse
    from semaphore.schemas.options import AppActiveIn

    _require_admin(actor)
    _require_app(app_id)
    body = parse(AppActiveIn, data)
    _store(f"{OPTION_PREFIX}{app_id}.active", _option_text("active", body.active))
    db.session.commit()


def delete_app(actor: User, app_id: str) -> None:
    """Remove an app's stored options, so that its config and defaults apply again.

    Raises:
        PermissionDenied: the actor is not an admin.
        NotFound: no such app.
    """
    _require_admin(actor)
    _require_app(app_id)
    prefix = f"{OPTION_PREFIX}{app_id}."
    db.session.execute(delete(Option).where(Option.key.startswith(prefix, autoescape=True)))
    db.session.commit()


def store_app_option(key: str, text: str) -> str:
    """Validate and store one `apps.<id>.<field>` option given as text (the caller commits).

    Returns the text as stored, "" when the option was deleted.

    Raises:
        ValidationError: an unknown app or field, or a value the field cannot take.
    """
    parsed = _parse_key(key)
    if parsed is None:
        raise ValidationError("Unknown option key", "key")
    _, field = parsed
    stored = None if text == "" else _texts({field: _from_text(field, text)})[field]
    _store(key, stored)
    return stored or ""


def _store(key: str, text: str | None) -> None:
    if text is None:
        db.session.execute(delete(Option).where(Option.key == key))
    else:
        db.session.merge(Option(key=key, value=text))


# --- checks and conversions -------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    if not actor.admin:
        raise PermissionDenied("User must be admin")


def _require_app(app_id: str) -> None:
    if app_id not in DEFAULTS:
        raise NotFound("App not found")


def _parse_key(key: str) -> tuple[str, str] | None:
    """(app id, field) of an `apps.<id>.<field>` key naming a known app and field."""
    match = _OPTION_KEY.fullmatch(key)
    if match is None or match[1] not in DEFAULTS or match[2] not in FIELDS:
        return None
    return match[1], match[2]


def _texts(data: Any) -> dict[str, str | None]:
    """The option text of each field the body gives; None for a value that removes the option
    (a null too, so the body's own fields say which are given).

    Raises:
        ValidationError: a value has the wrong type or does not fit the column.
    """
    from semaphore.schemas.base import parse
    from semaphore.schemas.options import AppIn

    body = parse(AppIn, data)
    return {field: _option_text(field, getattr(body, field)) for field in FIELDS if field in data}


def _option_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if field == "active":
        return "true" if value else "false"
    if field == "priority":
        return str(value)
    if field == "args":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else None
    return value or None


def _from_text(field: str, text: str) -> Any:
    """The typed value of an option's text.

    Raises:
        ValidationError: the text is not a value of the field's type.
    """
    if field == "active":
        if text not in ("true", "false"):
            raise ValidationError("active must be true or false", "value")
        return text == "true"
    if field == "priority":
        if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > MAX_PRIORITY:
            raise ValidationError("priority must be a whole number", "value")
        return int(text)
    if field == "args":
        value = v.parse_json_text(text, "value", message="args must be a JSON array of strings")
        if not _is_string_list(value):
            raise ValidationError("args must be a JSON array of strings", "value")
        return value
    return text


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
