"""Options (admins' config overrides and each user's own) and apps: requests and answers.

An option's value may be empty (an admin's empty value deletes the option) but never missing.
Which keys exist is the services' business (apps.<id>.<field> for admins, an allowlist for users).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    RootModel,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from semaphore.schemas.base import (
    MAX_NAME,
    InputModel,
    JsonBool,
    Name,
    NonNegativeInt,
    OutputModel,
    invalid,
    json_string,
    list_of,
)

MAX_VALUE = 1000  # Option.value is String(1000)
# The original's allowlist (api/user_options.go): the UI language and the unpinned menu items;
# ours adds the pages' colour scheme (the original keeps its theme in the browser only).
USER_OPTION_KEYS = ("lang", "nav.unpinnedItems", "color_scheme")
# color_scheme's values, JSON strings as every user option: "auto" follows the OS.
COLOR_SCHEMES = ("auto", "light", "dark")


OptionValue = Annotated[str, StringConstraints(max_length=MAX_VALUE), BeforeValidator(json_string)]


class OptionIn(InputModel):
    """POST /api/options and /api/user/options: `{"key", "value"}`.

    A null value is "not a string" and an absent one "required", so the service passes the
    body's field names as parse's context `given` (parse reads nulls as absent).
    """

    key: Name
    value: OptionValue | None = None

    @model_validator(mode="after")
    def _value_given(self, info: ValidationInfo) -> OptionIn:
        if self.value is None:
            given = (info.context or {}).get("given", ())
            message = "value must be a string" if "value" in given else "value is required"
            raise invalid(message, "value")
        if "\x00" in self.key or "\x00" in self.value:
            raise invalid("Options must not contain NUL characters")
        return self


class UserOptionIn(OptionIn):
    """POST /api/user/options: one of the allowlisted keys; the service checks the value is
    JSON text (as the original)."""

    @model_validator(mode="after")
    def _known_key(self) -> UserOptionIn:
        if self.key not in USER_OPTION_KEYS:
            raise invalid("Unknown user option key", "key")
        if self.key == "color_scheme" and _json_or_none(self.value) not in COLOR_SCHEMES:
            raise invalid('color_scheme must be "auto", "light" or "dark" (a JSON string)', "value")
        return self


def _json_or_none(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return None


class OptionOut(OutputModel):
    """An option as stored ("" when an admin's empty value deleted it)."""

    key: str
    value: str


class OptionMap(RootModel[dict[str, str]]):
    """Options as a flat `{key: value}` map."""


# --- apps -------------------------------------------------------------------------------------


def _string_list(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("args must be a list of strings")
    if any("\x00" in item for item in value):
        raise invalid("args must not contain NUL characters")
    if len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) > MAX_VALUE:
        raise invalid(f"args must be at most {MAX_VALUE} characters as JSON")
    return value


Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_NAME),
    BeforeValidator(json_string),
]
ProgramPath = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_VALUE),
    BeforeValidator(json_string),
]
Arguments = Annotated[list[str], BeforeValidator(_string_list)]


class AppIn(InputModel):
    """PUT or POST /api/apps/{id}: each given field is stored; "", [] or null removes it (the
    service reads which fields the body has). Fields are checked in this order."""

    active: JsonBool | None = None
    priority: NonNegativeInt | None = None
    title: Label | None = None
    icon: Label | None = None
    color: Label | None = None
    dark_color: Label | None = None
    path: ProgramPath | None = None
    args: Arguments | None = None

    @field_validator("title", "icon", "color", "dark_color", "path")
    @classmethod
    def _no_nul(cls, text: str | None, info: ValidationInfo) -> str | None:
        if text and "\x00" in text:
            raise invalid(f"{info.field_name} must not contain NUL characters")
        return text


class AppActiveIn(InputModel):
    """POST /api/apps/{id}/active."""

    active: JsonBool | None = None

    @model_validator(mode="after")
    def _given(self) -> AppActiveIn:
        if self.active is None:
            raise invalid("active must be true or false", "active")
        return self


class AppOut(OutputModel):
    """An app with its settings, the defaults filled in."""

    id: str
    active: bool
    priority: int
    title: str
    icon: str
    color: str
    dark_color: str
    path: str
    args: list[str]


AppList = list_of(AppOut)
