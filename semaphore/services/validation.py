"""Small input checks shared by the services: they raise ValidationError naming the field."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from semaphore.errors import ValidationError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MAX_NAME = 255
# Arrays and objects nested deeper than this are refused wherever users give JSON: far more
# than any real document, far less than what would exhaust Python's recursion limit later
# (encoding the value again, Jinja2, Ansible).
MAX_JSON_DEPTH = 100
_RAISE = object()


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


class NestedTooDeeply(ValidationError):
    """JSON text nested past MAX_JSON_DEPTH levels."""


def parse_json_text(
    text: str | bytes | None,
    field: str | None = None,
    *,
    label: str | None = None,
    message: str | None = None,
    default: Any = _RAISE,
) -> Any:
    """JSON that a user gave as text (a field holding JSON, a request or webhook body, or such
    a value stored earlier), parsed by the one rule: strict JSON (no NaN or Infinity), at most
    MAX_JSON_DEPTH levels of arrays and objects. With a `default`, a text that breaks the rule
    gives the default instead of an error (for stored values, which were checked when written).
    `label` names the value in messages (default: the field).

    Raises:
        ValidationError: `message` (else "<label> must be valid JSON") for text that is not
            JSON; never with a default.
        NestedTooDeeply: "<label> is nested too deeply" past MAX_JSON_DEPTH, or deep enough
            to exhaust the parser's stack; never with a default.
    """
    what = label or field or "JSON"
    too_deep = False
    try:
        if text is None:
            raise ValueError("no JSON text")
        value = json.loads(text, parse_constant=_refuse_constant)
        too_deep = _nested_deeper_than(value, MAX_JSON_DEPTH)
    except RecursionError:
        too_deep = True
    except ValueError:
        if default is not _RAISE:
            return default
        raise ValidationError(message or f"{what} must be valid JSON", field) from None
    if too_deep:
        if default is not _RAISE:
            return default
        raise NestedTooDeeply(
            f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels)", field
        )
    return value


def refuse_deep_json_texts(value: Any, field: str) -> None:
    """Every string inside `value` that holds JSON must keep to parse_json_text's depth; text
    that is not JSON passes. For task_params, whose `environment` and `arguments` texts the
    original stores unchecked (and runs leave out when they do not parse).

    Raises:
        NestedTooDeeply: a string holds JSON nested past MAX_JSON_DEPTH.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and item.lstrip()[:1] in ("[", "{"):
            try:
                parse_json_text(item, field)
            except NestedTooDeeply:
                raise
            except ValidationError:
                pass


def _refuse_constant(name: str) -> None:
    # NaN and Infinity are not JSON; Python's parser accepts them unless told not to.
    raise ValueError(f"{name} is not valid JSON")


def _nested_deeper_than(value: Any, limit: int) -> bool:
    pending = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
