"""Users and API tokens: what a request gives and what the API shows.

Passwords are input only; no output model has a field for them. A token's full value is
shown once, as the `id` of the answer to the request that made it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from semaphore.schemas.base import (
    InputModel,
    JsonBool,
    Name,
    OutputModel,
    ShortText,
    Timestamp,
    invalid,
    json_string,
    list_of,
)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_PASSWORD = 1024
MAX_TOKEN_DAYS = 3650


# Kept as typed: spaces may be part of a password.
Password = Annotated[
    str,
    StringConstraints(max_length=MAX_PASSWORD),
    BeforeValidator(json_string),
    WithJsonSchema({"type": "string", "format": "password", "maxLength": MAX_PASSWORD}),
]


class _UserFields(InputModel):
    username: Name
    name: Name
    email: Name

    @field_validator("email")
    @classmethod
    def _email(cls, email: str) -> str:
        if not EMAIL_RE.match(email):
            raise invalid("email is not a valid e-mail address")
        return email


class UserIn(_UserFields):
    """POST /api/users. A password is required unless the user is external (LDAP, OIDC)."""

    external: JsonBool = False
    # Checked in field order, so "password is required" comes before a bad admin or alert.
    password: Password = Field(default="", validate_default=True)
    admin: JsonBool = False
    alert: JsonBool = False

    @field_validator("password")
    @classmethod
    def _password_unless_external(cls, password: str, info: ValidationInfo) -> str:
        if not password and not info.data.get("external", False):
            raise invalid("password is required")
        return password


class UserUpdateIn(_UserFields):
    """PUT /api/users/{id}: omitted booleans keep their value; a password replaces the old one."""

    admin: JsonBool | None = None
    alert: JsonBool | None = None
    password: Password = ""


class UserPasswordIn(InputModel):
    """POST /api/users/{id}/password."""

    password: Password = Field(default="", validate_default=True)

    @field_validator("password")
    @classmethod
    def _required(cls, password: str) -> str:
        if not password:
            raise invalid("password is required")
        return password


class UserOut(OutputModel):
    """A user as the contract shows it (admins, and each user to themselves)."""

    id: int
    created: Timestamp
    username: str
    name: str
    email: str
    admin: bool
    external: bool
    alert: bool


class CurrentUserOut(UserOut):
    """GET /api/user: the signed-in user, and whether they may create projects."""

    can_create_project: bool

    @classmethod
    def of(cls, user: Any, can_create_project: bool) -> dict[str, Any]:
        """The user as GET /api/user shows it."""
        shown = UserOut.model_validate(user).model_dump()
        return cls(**shown, can_create_project=can_create_project).model_dump(mode="json")


class UserMinimalOut(OutputModel):
    """What non-admins see of other users."""

    id: int
    username: str
    name: str


UserList = list_of(UserOut)
UserMinimalList = list_of(UserMinimalOut)


# --- API tokens -------------------------------------------------------------------------------


def _token_time(stamp: object) -> datetime | None:
    """An RFC 3339 time with a zone, else None."""
    try:
        moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _whole_days(days: object) -> bool:
    # 5.0 is refused too: a number of days is written as a whole number.
    return not isinstance(days, bool) and isinstance(days, int) and 1 <= days <= MAX_TOKEN_DAYS


class TokenIn(InputModel):
    """POST /api/user/tokens: a name, and at most one of `expires` or `expires_in_days`.

    Whether `expires` lies in the future is the service's check, at the time it creates the
    token. The two limits are checked together, after the name, as they always were.
    """

    name: ShortText = ""
    expires_in_days: Annotated[
        Any,
        WithJsonSchema({"type": ["integer", "null"], "minimum": 1, "maximum": MAX_TOKEN_DAYS}),
    ] = None
    expires: Annotated[Any, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})] = (
        None
    )

    @model_validator(mode="after")
    def _one_limit(self) -> TokenIn:
        if self.expires_in_days is not None and self.expires is not None:
            raise invalid("give expires or expires_in_days, not both", "expires")
        if self.expires_in_days is not None and not _whole_days(self.expires_in_days):
            raise invalid(f"expires_in_days must be a whole number from 1 to {MAX_TOKEN_DAYS}")
        if self.expires is not None and _token_time(self.expires) is None:
            raise invalid("expires must be an RFC 3339 time with a zone", "expires")
        return self

    @property
    def expires_at(self) -> datetime | None:
        """The `expires` time given, with its zone."""
        return _token_time(self.expires)


class APITokenOut(OutputModel):
    """A token: its short handle as `id`, but the whole token in the answer that created it."""

    id: str
    name: str
    created: Timestamp
    expired: bool
    user_id: int
    expires: Timestamp | None

    @classmethod
    def of(cls, token: Any, expired: bool, raw: str | None = None) -> dict[str, Any]:
        """The token as the API shows it; `expired` counts its expiry time too."""
        shown = cls.model_validate(token).model_copy(
            update={"expired": expired, "id": raw or token.id}
        )
        return shown.model_dump(mode="json")


APITokenList = list_of(APITokenOut)
