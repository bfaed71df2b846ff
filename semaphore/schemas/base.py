"""The schema layer's building blocks: base models, field types that keep the original's JSON
rules, and `parse`, which turns pydantic's errors into our one ValidationError.

Input is read as the original's Go decoder reads it: unknown fields are ignored and a null is the
same as an absent field. Our error texts stay what clients have seen: "name is required",
"git_url is not a valid repository URL", and for list items the item first, as
"survey_vars[0]: an enum needs at least one value".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    RootModel,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from semaphore.errors import ValidationError
from semaphore.models.base import isoformat

MAX_NAME = 255
MAX_TEXT = 1024 * 1024
MAX_INT = 2**31 - 1

Model = TypeVar("Model", bound=BaseModel)


class InputModel(BaseModel):
    """A request body (or a form, or a backup item) as a service takes it."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class OutputModel(BaseModel):
    """An object as the API shows it, read from the ORM row's attributes."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def dump(cls, row: Any) -> dict[str, Any]:
        """The row (or mapping) as the API shows it."""
        return cls.model_validate(row).model_dump(mode="json")


class ErrorAnswer(OutputModel):
    """Every refusal: 4xx with the reason (5xx never carries more than "internal error")."""

    error: str


def list_of(model: type[OutputModel]) -> type[RootModel]:
    """The answer of a list route: an array of `model`, dumped with `dump(rows)`, or written
    as JSON with `dump_json(rows)` (pydantic-core writes it directly: a big list costs a
    fifth of dumping it to Python objects and encoding those)."""
    adapter = TypeAdapter(list[model])

    class ListAnswer(RootModel[list[model]]):
        @classmethod
        def dump(cls, rows: Iterable[Any]) -> list[dict[str, Any]]:
            return adapter.dump_python([model.model_validate(row) for row in rows], mode="json")

        @classmethod
        def dump_json(cls, rows: Iterable[Any]) -> bytes:
            return adapter.dump_json(adapter.validate_python(list(rows)))

    ListAnswer.__name__ = f"{model.__name__}List"
    ListAnswer.__qualname__ = ListAnswer.__name__
    return ListAnswer


# A time as the original writes it: RFC 3339 in UTC with microseconds and a Z.
Timestamp = Annotated[datetime, PlainSerializer(isoformat, return_type=str | None)]


def invalid(message: str, field: str | None = None) -> PydanticCustomError:
    """An error whose text is shown as it is (after the list items it is in); `field` names
    the field a whole-model check blames."""
    return PydanticCustomError("semaphore", message, {"field": field} if field else None)


def _whole_number(value: Any) -> bool:
    # JSON numbers without a fraction; booleans and strings are not numbers.
    return not (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and (not math.isfinite(value) or value != int(value)))
    )


def _json_integer(value: Any) -> Any:
    if not _whole_number(value):
        raise invalid("must be an integer")
    if abs(value) > MAX_INT:
        raise invalid("is out of range")
    return int(value)


def _json_boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise invalid("must be true or false")
    return value


def json_string(value: Any) -> Any:
    """A JSON string, never coerced from a number or boolean (for BeforeValidator)."""
    if not isinstance(value, str):
        raise invalid("must be a string")
    return value


def _json_non_negative(value: Any) -> Any:
    # As JsonInt, but a negative number is "at least 0" however large (the old checks' order).
    if not _whole_number(value):
        raise invalid("must be an integer")
    if value < 0:
        raise invalid("must be at least 0")
    if value > MAX_INT:
        raise invalid("is out of range")
    return int(value)


JsonInt = Annotated[int, BeforeValidator(_json_integer)]
JsonBool = Annotated[bool, BeforeValidator(_json_boolean)]
# A count or priority: a JSON whole number from 0 to 2^31-1.
NonNegativeInt = Annotated[
    int,
    BeforeValidator(_json_non_negative),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_INT}),
]


def Text(max_length: int | None = MAX_NAME, *, required: bool = False, strip: bool = True) -> Any:
    """A string field: a JSON string, trimmed unless `strip` is false, at most `max_length`
    characters (None: any length); a required one must not be empty (after trimming)."""
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=strip, min_length=1 if required else None, max_length=max_length
        ),
        BeforeValidator(json_string),
    ]


# A required name: trimmed, not empty, at most 255 characters.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME),
    BeforeValidator(json_string),
]
# An optional short text, trimmed.
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_NAME),
    BeforeValidator(json_string),
]


def _field_message(kind: str, context: Mapping[str, Any], message: str) -> str:
    """Our text for one of pydantic's errors, without the field's name."""
    if kind in ("missing", "string_too_short"):
        return "is required"
    if kind == "string_too_long":
        return f"must be at most {context['max_length']} characters"
    if kind in ("string_type", "str_type"):
        return "must be a string"
    if kind in ("list_type", "tuple_type"):
        return "must be an array"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be an object"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind.startswith("int_"):
        return "must be an integer"
    if kind == "greater_than_equal":
        return f"must be at least {context['ge']}"
    if kind == "less_than_equal":
        return "is out of range"
    if kind == "literal_error":
        return f"must be one of: {context['expected']}"
    return message


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    """(message, field path) for one pydantic error, as our hand-written checks wrote them:
    each list item it is in comes first ("vaults[1]: name must be a string")."""
    segments: list[str] = []
    current = ""
    for part in error["loc"]:
        if isinstance(part, int):
            segments.append(f"{current}[{part}]")
            current = ""
        else:
            current = f"{current}.{part}" if current else str(part)
    context = error.get("ctx") or {}
    if context.get("field") and not current:
        blamed = str(context["field"])
        return _joined(segments, error["msg"]), ".".join([*segments, blamed])
    leaf = current
    text = _field_message(error["type"], context, error["msg"])
    if error["type"] != "semaphore" or not text.startswith(leaf + " "):
        text = f"{leaf} {text}" if leaf else text
    path = ".".join(segment for segment in [*segments, leaf] if segment)
    return _joined(segments, text), path


def _joined(segments: list[str], text: str) -> str:
    return ": ".join([*segments, text])


def _without_nulls(value: Any) -> Any:
    # The original's decoder reads a JSON null as the field's zero value, as if absent.
    if isinstance(value, Mapping):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def parse(model: type[Model], data: Any, *, context: Mapping[str, Any] | None = None) -> Model:
    """The body (or form, or backup item) validated by `model`.

    Raises:
        ValidationError: the first problem, with our text and the field's path; its
            `problems` list every one (a form shows them all).
    """
    if not isinstance(data, Mapping):
        raise ValidationError("Request body must be a JSON object")
    try:
        return model.model_validate(_without_nulls(data), context=context)
    except PydanticValidationError as exc:
        problems: list[tuple[str, str | None]] = []
        for error in exc.errors(include_url=False):
            message, path = _describe(error)
            if (message, path or None) not in problems:
                problems.append((message, path or None))
        raise ValidationError.of(problems) from None
