"""Reading request bodies: always JSON, whatever the Content-Type says (as the original)."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from semaphore.errors import ValidationError


def json_body(required: bool = True) -> Any:
    """The parsed JSON body.

    Raises:
        ValidationError: the body is missing (when required) or not valid JSON.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ValidationError("Request body is required")
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("Request body is not valid JSON") from None


def json_object(required: bool = True) -> dict[str, Any]:
    """The JSON body, which must be an object."""
    body = json_body(required)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValidationError("Request body must be a JSON object")
    return body
