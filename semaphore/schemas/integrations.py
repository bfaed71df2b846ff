"""An integration (an incoming webhook that starts a template), its matchers, the values it
extracts and its public URL aliases: what a request gives and what the API shows.

A matcher or an extracted value looks at a header or at the body; only a body has a data type,
and a string body is taken whole, so it has no key.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from semaphore.schemas.base import (
    InputModel,
    JsonBool,
    JsonInt,
    Name,
    OutputModel,
    ShortText,
    Text,
    invalid,
    json_string,
    list_of,
)
from semaphore.schemas.tasks import StoredObject, TaskParams

# "" and "none" both mean no check: the original's constant is "", its contract's example "none".
AUTH_METHODS = ("", "none", "github", "bitbucket", "token", "hmac", "basic")
SECRET_METHODS = ("github", "bitbucket", "token", "hmac", "basic")
HEADER_METHODS = ("token", "hmac")
MATCH_TYPES = ("header", "body")
MATCH_METHODS = ("equals", "unequals", "contains")
BODY_DATA_TYPES = ("json", "xml", "string")
VALUE_SOURCES = ("body", "header")
VARIABLE_TYPES = ("environment", "task")
MAX_CHOICE = 32
MAX_VALUE = 4096

AuthMethod = Text(16)


def _choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed`, trimmed; "" is missing."""
    if not isinstance(value, str):
        raise invalid(f"{field} must be a string")
    value = value.strip()
    if len(value) > MAX_CHOICE:
        raise invalid(f"{field} must be at most {MAX_CHOICE} characters")
    if not value:
        raise invalid(f"{field} is required")
    if value not in allowed:
        raise invalid(f"{field} must be one of {', '.join(allowed)}")
    return value


# The value a matcher compares with: required, kept exactly as given (spaces count).
MatchValue = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_VALUE), BeforeValidator(json_string)
]


class IntegrationIn(InputModel):
    """POST and PUT …/integrations. The template and the secret (a login_password key) must be
    the project's, and id/project_id match the URL (checked by the service)."""

    id: JsonInt | None = None
    project_id: JsonInt | None = None
    auth_method: AuthMethod = ""
    auth_header: ShortText = Field("", validate_default=True)
    name: Name
    template_id: JsonInt | None = None
    auth_secret_id: JsonInt | None = None
    searchable: JsonBool = False
    task_params: TaskParams | None = None

    @field_validator("auth_method")
    @classmethod
    def _auth_method(cls, method: str) -> str:
        if method not in AUTH_METHODS:
            raise invalid(f"auth_method must be one of {', '.join(AUTH_METHODS[1:])}")
        return method

    @field_validator("auth_header")
    @classmethod
    def _auth_header(cls, header: str, info: ValidationInfo) -> str:
        method = info.data.get("auth_method")
        if method in HEADER_METHODS and not header:
            raise invalid(f"auth_header is required for {method} authentication")
        return header

    @model_validator(mode="after")
    def _secret(self) -> IntegrationIn:
        # 0 names no key, as everywhere in the original.
        if self.auth_method in SECRET_METHODS and not self.auth_secret_id:
            raise invalid(f"auth_secret_id is required for {self.auth_method} authentication")
        return self


def _body_data_type(value: Any, source: str | None) -> str:
    if source != "body":
        return ""  # a header has no data type, whatever was sent
    return _choice(value, "body_data_type", BODY_DATA_TYPES)


def _key(key: str, body_data_type: str | None) -> str:
    # The header's name or the JSON path; a string body is taken whole.
    if not key and body_data_type != "string":
        raise invalid("key is required")
    return key


class MatcherIn(InputModel):
    """POST and PUT …/matchers: the integration starts only when all its matchers match."""

    match_type: str
    body_data_type: str = Field("", validate_default=True)
    name: Name
    method: str = Field("equals", validate_default=True)
    key: ShortText = Field("", validate_default=True)
    value: MatchValue

    @field_validator("match_type", mode="before")
    @classmethod
    def _match_type(cls, value: Any) -> str:
        return _choice(value, "match_type", MATCH_TYPES)

    @field_validator("body_data_type", mode="before")
    @classmethod
    def _body_data_type(cls, value: Any, info: ValidationInfo) -> str:
        return _body_data_type(value, info.data.get("match_type"))

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> str:
        return _choice(value, "method", MATCH_METHODS)

    @field_validator("key")
    @classmethod
    def _key(cls, key: str, info: ValidationInfo) -> str:
        return _key(key, info.data.get("body_data_type"))


class ExtractValueIn(InputModel):
    """POST and PUT …/values: a value taken from a request into the task's environment (or
    its parameters)."""

    value_source: str
    body_data_type: str = Field("", validate_default=True)
    name: Name
    key: ShortText = Field("", validate_default=True)
    variable: Name
    variable_type: str = Field("environment", validate_default=True)

    @field_validator("value_source", mode="before")
    @classmethod
    def _value_source(cls, value: Any) -> str:
        return _choice(value, "value_source", VALUE_SOURCES)

    @field_validator("body_data_type", mode="before")
    @classmethod
    def _body_data_type(cls, value: Any, info: ValidationInfo) -> str:
        return _body_data_type(value, info.data.get("value_source"))

    @field_validator("key")
    @classmethod
    def _key(cls, key: str, info: ValidationInfo) -> str:
        return _key(key, info.data.get("body_data_type"))

    @field_validator("variable_type", mode="before")
    @classmethod
    def _variable_type(cls, value: Any) -> str:
        return _choice(value, "variable_type", VARIABLE_TYPES)


class MatcherCreateIn(MatcherIn):
    """POST …/matchers as the contract documents it (an IntegrationMatcher); id and
    integration_id are ignored, as the original ignores them (the URL names the integration)."""

    id: int | None = None
    integration_id: int | None = None


class ExtractValueCreateIn(ExtractValueIn):
    """POST …/values as the contract documents it (an IntegrationExtractValue); id and
    integration_id are ignored, as the original ignores them."""

    id: int | None = None
    integration_id: int | None = None


class IntegrationOut(OutputModel):
    """An integration as the contract shows it."""

    id: int
    name: str
    project_id: int
    template_id: int
    auth_method: str
    auth_secret_id: int | None
    auth_header: str
    searchable: bool
    task_params: StoredObject


def _absent_when_empty(value: str) -> bool:
    return not value


class MatcherOut(OutputModel):
    """A matcher; a header matcher has no body_data_type (the contract's enum has no "")."""

    id: int
    integration_id: int
    name: str
    match_type: str
    method: str
    key: str
    value: str
    body_data_type: str = Field("", exclude_if=_absent_when_empty)


def _environment_by_default(value: object) -> object:
    return value or "environment"


class ExtractValueOut(OutputModel):
    """An extracted value; a header's has no body_data_type."""

    id: int
    integration_id: int
    name: str
    value_source: str
    key: str
    variable: str
    variable_type: Annotated[str, BeforeValidator(_environment_by_default)]
    body_data_type: str = Field("", exclude_if=_absent_when_empty)


class AliasOut(OutputModel):
    """A public URL that starts an integration (or the project's matching ones)."""

    id: int
    url: str


class NamedRef(OutputModel):
    id: int
    name: str


class IntegrationRefs(OutputModel):
    """GET …/integrations/{id}/refs: the integration's matchers and values."""

    matchers: list[NamedRef]
    values: list[NamedRef]


class ChildRefs(OutputModel):
    """GET …/matchers/{id}/refs and …/values/{id}/refs: nothing ever uses them."""

    integrations: list[NamedRef]


IntegrationList = list_of(IntegrationOut)
MatcherList = list_of(MatcherOut)
ExtractValueList = list_of(ExtractValueOut)
AliasList = list_of(AliasOut)
