"""JSON that users give as text (a field holding JSON, a request or webhook body), read by the
one rule: strict JSON (no NaN or Infinity), at most MAX_JSON_DEPTH levels of arrays and objects.
The services, the schemas and restore all read it through here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from semaphore.errors import ValidationError

# Arrays and objects nested deeper than this are refused wherever users give JSON: far more
# than any real document, far less than what would exhaust Python's recursion limit later
# (encoding the value again, Jinja2, Ansible).
MAX_JSON_DEPTH = 100
_RAISE = object()


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


def stored_object(value: object) -> dict[str, Any] | None:
    """An object read from a JsonText column, or None (nothing stored, or not an object)."""
    return value if isinstance(value, dict) else None


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
