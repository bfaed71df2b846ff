"""Survey variables: what a template asks for when a task starts, and the one rule an answer (or
a variable's default) must pass.

The types are the contract's "" (a line of text), int, secret and enum; the original's later
releases' text (several lines) and select (several of the listed values, its PR #4118); and
ours, boolean. An answer reaches the run as JSON of its type: an int as a number, a boolean as
true or false, a select as a list of strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema, field_validator, model_validator

from semaphore.schemas.base import MAX_NAME, InputModel, JsonBool, Name, ShortText, Text, invalid

SURVEY_TYPES = ("", "int", "secret", "enum", "text", "boolean", "select")
TEXT_TYPES = ("", "text", "secret")
TYPES_MESSAGE = "type must be one of '', int, secret, enum, text, boolean, select"
MAX_TEXT = 64 * 1024
MAX_CHOICES = 1000
_INTEGER = re.compile(r"-?\d{1,18}")


class BadAnswer(ValueError):
    """An answer refused by the rule; the text says why without naming the variable ("must be
    an integer"), so each caller names it its own way."""


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def survey_answer(var: Mapping[str, Any], value: Any) -> Any:
    """The answer to a stored survey variable as the run receives it: "5" and 5 give 5 for an
    int, "true" and true give true for a boolean; a blank answer (none, "" or an empty list) is
    returned as it is unless the variable is required. Other texts are not checked.

    Raises:
        BadAnswer: "is required", "must be an integer", "must be true or false",
            "must be one of: a, b", "must be a list of the values a, b".
    """
    if _blank(value):
        if var.get("required"):
            raise BadAnswer("is required")
        return value
    kind = var.get("type") or ""
    if kind == "int":
        return _integer(value)
    if kind == "boolean":
        return _boolean(value)
    if kind == "enum":
        if value not in _choices(var):
            raise BadAnswer(f"must be one of: {', '.join(_choices(var))}")
        return value
    if kind == "select":
        allowed = _choices(var)
        if not isinstance(value, list) or any(item not in allowed for item in value):
            raise BadAnswer(f"must be a list of the values {', '.join(allowed)}")
        return list(value)
    return value


def default_answer(var: Mapping[str, Any]) -> Any:
    """The variable's default as the run receives it, None when it has none.

    Raises:
        BadAnswer: a default the rule refuses, or not a string for a text variable.
    """
    default = var.get("default_value")
    if _blank(default):
        return None
    if (var.get("type") or "") in TEXT_TYPES and not isinstance(default, str):
        raise BadAnswer("must be a string")
    if var.get("type") == "select" and isinstance(default, str):
        default = [default]  # the original's select kept a single default as a string
    return survey_answer(var, default)


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise BadAnswer("must be an integer")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadAnswer("must be true or false")


def _choices(var: Mapping[str, Any]) -> list[str]:
    values = var.get("values") or []
    return [item.get("value", "") for item in values if isinstance(item, Mapping)]


# --- the variables a template stores ----------------------------------------------------------


def _default_shape(value: Any) -> Any:
    # A default is a text, a number, true or false, or a list of texts (a select's).
    if isinstance(value, str | bool | int):
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise invalid(f"default_value must be at most {MAX_TEXT} characters")
        return value
    if isinstance(value, list) and len(value) <= MAX_CHOICES:
        if all(isinstance(item, str) and len(item) <= MAX_TEXT for item in value):
            return value
    raise invalid("default_value must be a string, an integer, true or false, or a list of strings")


DefaultValue = Annotated[
    Any,
    BeforeValidator(_default_shape),
    WithJsonSchema(
        {"type": ["string", "integer", "boolean", "array", "null"], "items": {"type": "string"}}
    ),
]


class SurveyValue(InputModel):
    """One choice of an enum or select survey variable."""

    name: Text(MAX_NAME, strip=False) = ""
    value: Text(MAX_TEXT, strip=False) = ""


class SurveyVar(InputModel):
    """A variable the user is asked for when starting a task."""

    type: Text(16) = ""
    values: list[SurveyValue] = []
    name: Name
    title: ShortText = ""
    description: Text(MAX_TEXT) = ""
    required: JsonBool = False
    default_value: DefaultValue = None

    @field_validator("type")
    @classmethod
    def _type(cls, kind: str) -> str:
        if kind not in SURVEY_TYPES:
            raise invalid(TYPES_MESSAGE)
        return kind

    @model_validator(mode="after")
    def _values_and_default(self) -> SurveyVar:
        if self.type == "enum" and not self.values:
            raise invalid("an enum needs at least one value", "values")
        if self.type == "select" and not self.values:
            raise invalid("a select needs at least one value", "values")
        try:
            default_answer(self.stored())
        except BadAnswer as exc:
            raise invalid(f"the default value of {self.name} {exc}", "default_value") from None
        return self

    def stored(self) -> dict[str, Any]:
        """The variable as a template stores it (default_value only when there is one, as
        given: the run receives it by the rule of `default_answer`)."""
        stored = {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "type": self.type,
            "required": self.required,
            "values": [{"name": item.name, "value": item.value} for item in self.values],
        }
        if not _blank(self.default_value):
            stored["default_value"] = self.default_value
        return stored


def check_survey_names(survey_vars: Sequence[SurveyVar]) -> None:
    """Each variable's name once: a task's answers are keyed by it."""
    for index, var in enumerate(survey_vars):
        if any(other.name == var.name for other in survey_vars[:index]):
            raise invalid(
                f"survey_vars[{index}]: the name {var.name} is used twice",
                f"survey_vars[{index}].name",
            )
