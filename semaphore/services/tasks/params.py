"""The default task parameters templates and schedules carry (the contract's TaskPrams).

The scheduler reads them (run_values) from its first tick: the schemas checking them (pydantic)
are imported when a check runs (issue 17).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from semaphore.services.validation import parse_json_text

if TYPE_CHECKING:
    from semaphore.schemas.base import InputModel


def check_params(params: Any) -> dict[str, Any]:
    """A task's Ansible or Terraform run parameters, checked (the values as given).

    Raises:
        ValidationError: "params must be an object", "params.debug must be true or false",
            "params.tags must be an array of strings".
    """
    from semaphore.schemas.base import parse
    from semaphore.schemas.tasks import RunParamsBody

    return parse(RunParamsBody, {"params": params}).params.values()


@functools.cache
def _holder(field: str) -> type[InputModel]:
    # The task parameters under the name the caller's body gives them, so errors name it.
    from pydantic import create_model

    from semaphore.schemas.base import InputModel
    from semaphore.schemas.tasks import TaskParams

    return create_model(f"TaskParamsIn_{field}", __base__=InputModel, **{field: (TaskParams, ...)})


def validated_task_params(
    data: Mapping[str, Any], field: str = "task_params"
) -> dict[str, Any] | None:
    """The field as stored after checking the shape the contract gives it; None when empty.

    A field given as null is not set: the answer never shows a null the contract types as a
    string or an object.

    Raises:
        ValidationError: not an object, or a known field of the wrong type.
    """
    from semaphore.schemas.base import parse

    value = data.get(field)
    if value is None:
        return None
    return getattr(parse(_holder(field), {field: value}), field).stored()


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
