"""The default task parameters templates and schedules carry (the contract's TaskPrams)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from semaphore.errors import ValidationError
from semaphore.services.validation import parse_json_text

TEXT_FIELDS = ("environment", "git_branch", "message", "arguments")
FLAG_PARAMS = ("debug", "dry_run", "diff", "plan", "destroy", "auto_approve", "upgrade")
LIST_PARAMS = ("limit", "tags", "skip_tags")


def check_params(params: Any, where: str) -> None:
    """Ansible and Terraform run parameters: flags are booleans, lists are lists of strings."""
    if not isinstance(params, Mapping):
        raise ValidationError(f"{where} must be an object", where)
    for name, value in params.items():
        if name in FLAG_PARAMS and not isinstance(value, bool):
            raise ValidationError(f"{where}.{name} must be true or false", where)
        if name in LIST_PARAMS and (
            not isinstance(value, list) or not all(isinstance(item, str) for item in value)
        ):
            raise ValidationError(f"{where}.{name} must be an array of strings", where)


def validated_task_params(data: Mapping[str, Any], field: str = "task_params") -> str | None:
    """The field as JSON text after checking the shape the contract gives it; None when empty.

    Raises:
        ValidationError: not an object, or a known field of the wrong type.
    """
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"{field} must be an object", field)
    for name in TEXT_FIELDS:
        if value.get(name) is not None and not isinstance(value[name], str):
            raise ValidationError(f"{field}.{name} must be a string", field)
    if value.get("params") is not None:
        check_params(value["params"], f"{field}.params")
    # A known field given as null is not set: the answer never shows a null the contract
    # types as a string or an object.
    kept = {
        name: item
        for name, item in value.items()
        if not (item is None and (name in TEXT_FIELDS or name == "params"))
    }
    return json.dumps(kept) if kept else None


def run_values(task_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A stored TaskParams object (a schedule's or an integration's) as the keyword arguments
    of `tasks.start_automated_task`; malformed values are left out rather than failing a run
    nobody is watching."""
    values = task_params or {}
    chosen: dict[str, Any] = {}
    environment = _json_text(values.get("environment"))
    if isinstance(environment, dict):
        chosen["environment"] = environment
    arguments = _json_text(values.get("arguments"))
    if isinstance(arguments, list) and all(isinstance(item, str) for item in arguments):
        chosen["arguments"] = arguments
    if isinstance(values.get("params"), dict):
        chosen["params"] = dict(values["params"])
    for name in ("git_branch", "message"):
        if isinstance(values.get(name), str) and values[name].strip():
            chosen[name] = values[name].strip()
    return chosen


def _json_text(text: Any) -> Any:
    if not isinstance(text, str) or not text.strip():
        return None
    return parse_json_text(text, default=None)
