"""An environment: what a request gives and what the API shows.

`json` and `env` are JSON texts; the model checks they are texts of the right size, the service
reads them as JSON objects (with the one JSON reader, services/validation.py). The secrets of
`secrets: [...]` are read one by one by the service, which must look each id up among the
environment's secrets between the checks of an item: an item's operation and id are one model,
its variable and value another, and an item without an operation is not read at all. No answer
carries a secret's value.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SkipValidation,
    ValidationInfo,
    field_validator,
)

from semaphore.schemas.base import InputModel, JsonInt, Name, OutputModel, Text, invalid, list_of
from semaphore.schemas.choices import SECRET_TYPES
from semaphore.schemas.keys import MAX_SECRET

MAX_JSON = 1024 * 1024
OPERATIONS = ("create", "update", "delete")
# Secrets become ansible extra variables or process environment variables.
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# A password as given: any length, spaces kept.
Password = Text(None, strip=False)
Operation = Text(16)
SecretType = Text(8, required=True)
SecretValue = Text(MAX_SECRET, strip=False)
JsonText = Text(MAX_JSON, strip=False)
RequiredJsonText = Text(MAX_JSON, required=True, strip=False)


class EnvironmentSecretChangeIn(InputModel):
    """What an item of `secrets` does: create, update or delete (none: leave it alone)."""

    operation: Operation = ""
    id: JsonInt | None = None

    @field_validator("operation")
    @classmethod
    def _operation(cls, operation: str) -> str:
        if operation and operation not in OPERATIONS:
            raise invalid(f"operation must be one of {', '.join(OPERATIONS)}")
        return operation

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any, info: ValidationInfo) -> Any:
        # Only an update or a delete names a stored secret; any other item's id is not read.
        if info.data.get("operation") not in ("update", "delete"):
            return None
        return value


class EnvironmentSecretValueIn(InputModel):
    """The variable a created or updated secret sets, and its value (kept as given)."""

    type: SecretType
    name: Name
    secret: SecretValue = ""

    @field_validator("type")
    @classmethod
    def _type(cls, secret_type: str) -> str:
        if secret_type not in SECRET_TYPES:
            raise invalid("type must be var or env")
        return secret_type

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _VARIABLE_NAME.match(name):
            raise invalid("name must be a variable name (letters, digits, '_')")
        return name


class EnvironmentSecretIn(InputModel):
    """An item of `secrets` as documented: `create` needs type and name, `update` the id (and
    what changes), `delete` the id only. The service reads it as the two models above."""

    id: int | None = None
    name: str | None = None
    secret: str | None = None
    type: str | None = None
    operation: str | None = None


class EnvironmentIn(InputModel):
    """POST and PUT …/environment: the fields in the order they are checked."""

    # The original's body carries the ids too; the service checks they match the URL's.
    id: JsonInt | None = None
    project_id: JsonInt | None = None
    password: Password | None = None
    name: Name
    # `json` would shadow BaseModel.json: the attribute is json_text, the field "json".
    json_text: RequiredJsonText = Field(alias="json")
    env: JsonText | None = None
    # The items as given: the service reads each (see the module's docstring).
    secrets: list[SkipValidation[EnvironmentSecretIn]] | None = None


class EnvironmentSecretOut(OutputModel):
    """A secret as it may be shown: which variable it sets, its value always empty."""

    id: int
    type: str
    name: str
    secret: Literal[""] = ""


class EnvironmentOut(OutputModel):
    """An environment; `secrets` is null in lists."""

    model_config = ConfigDict(from_attributes=True, serialize_by_alias=True)

    id: int
    name: str
    project_id: int
    password: str | None
    json_text: str = Field(alias="json")
    env: str | None
    secrets: list[EnvironmentSecretOut] | None = None

    @classmethod
    def dump_with_secrets(cls, row: Any, secrets: list[Any]) -> dict[str, Any]:
        """The row with its secrets (each shown by id, type and name)."""
        shown = [EnvironmentSecretOut.model_validate(secret) for secret in secrets]
        return cls.model_validate(row).model_copy(update={"secrets": shown}).model_dump(mode="json")


EnvironmentList = list_of(EnvironmentOut)
