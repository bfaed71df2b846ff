"""Reading request bodies: always JSON, whatever the Content-Type says (as the original)."""

from __future__ import annotations

from typing import Any

from flask import request

from semaphore.errors import ValidationError
from semaphore.services.validation import parse_json_text


def json_body(required: bool = True, *, nul_allowed: bool = False) -> Any:
    """The parsed JSON body. With `nul_allowed`, NUL characters pass (output lines, which
    are stored with NUL shown as U+FFFD).

    Raises:
        ValidationError: the body is missing (when required) or not valid JSON.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ValidationError("Request body is required")
        return None
    body = parse_json_text(raw, label="Request body", message="Request body is not valid JSON")
    _refuse_unstorable_strings(body, nul_allowed)
    return body


def _refuse_unstorable_strings(body: Any, nul_allowed: bool = False) -> None:
    """Refuse NUL characters and lone surrogates, which no database column can store."""
    pending = [body]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item and not nul_allowed:
                raise ValidationError("Request body contains a NUL character")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValidationError("Request body contains an invalid character") from None


def json_object(required: bool = True, *, nul_allowed: bool = False) -> dict[str, Any]:
    """The JSON body, which must be an object."""
    body = json_body(required, nul_allowed=nul_allowed)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValidationError("Request body must be a JSON object")
    return body
