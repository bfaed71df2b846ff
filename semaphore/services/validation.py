"""Small input checks shared by the services: they raise ValidationError naming the field."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from semaphore.errors import ValidationError
from semaphore.schemas.json_text import (  # noqa: F401 - the services' one reader of JSON text
    MAX_JSON_DEPTH,
    NestedTooDeeply,
    parse_json_text,
    refuse_deep_json_texts,
)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_NAME = 255
_COUNTING_NUMBER = re.compile(r"[0-9]{1,9}")


def counting_number(text: str) -> int | None:
    """A query string's page number or id: a whole number from 1 (at most nine digits), else
    None."""
    if _COUNTING_NUMBER.fullmatch(text) and int(text) >= 1:
        return int(text)
    return None


def require_mapping(data: Any) -> Mapping[str, Any]:
    """The request body as an object."""
    if not isinstance(data, Mapping):
        raise ValidationError("Request body must be a JSON object")
    return data


def string(
    data: Mapping[str, Any],
    field: str,
    *,
    required: bool = False,
    default: str | None = None,
    max_length: int = MAX_NAME,
    strip: bool = True,
) -> str | None:
    """A string field; required ones must be non-empty."""
    value = data.get(field)
    if value is None:
        if required:
            raise ValidationError(f"{field} is required", field)
        return default
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", field)
    if strip:
        value = value.strip()
    if required and not value:
        raise ValidationError(f"{field} is required", field)
    if len(value) > max_length:
        raise ValidationError(f"{field} must be at most {max_length} characters", field)
    return value


def boolean(data: Mapping[str, Any], field: str, default: bool | None = None) -> bool | None:
    """A boolean field (JSON true/false only)."""
    value = data.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false", field)
    return value


def integer(
    data: Mapping[str, Any],
    field: str,
    *,
    required: bool = False,
    default: int | None = None,
    minimum: int | None = None,
) -> int | None:
    """An integer field (JSON numbers without a fraction; booleans are refused)."""
    value = data.get(field)
    if value is None:
        if required:
            raise ValidationError(f"{field} is required", field)
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise ValidationError(f"{field} must be an integer", field)
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValidationError(f"{field} must be at least {minimum}", field)
    if abs(value) > 2**31 - 1:
        raise ValidationError(f"{field} is out of range", field)
    return value


def email(data: Mapping[str, Any], field: str = "email", *, required: bool = True) -> str | None:
    """An e-mail address (only its shape is checked)."""
    value = string(data, field, required=required)
    if value and not EMAIL_RE.match(value):
        raise ValidationError(f"{field} is not a valid e-mail address", field)
    return value
