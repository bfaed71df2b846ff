"""A new task's survey answers: the one place where every way of starting a task (a user's run or
re-run, a schedule, an integration) has the values given for the template's survey variables
checked, and the missing ones filled in from the variables' defaults (the original applies
defaults only in its run dialog, its #4075)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from semaphore.errors import ValidationError
from semaphore.models import Template
from semaphore.schemas.survey import BadAnswer, default_answer, survey_answer
from semaphore.services import templates
from semaphore.services.validation import parse_json_text


def fill_answers(
    template: Template, environment: str | None, secret: str | None
) -> tuple[str, str]:
    """The task's environment and secret JSON texts ("" for none), with each survey answer
    checked by the one rule (schemas.survey) and given as the run receives it, and each missing
    one taken from its variable's default. A text whose values did not change is kept as given.

    Raises:
        ValidationError: "replicas must be an integer", "region is required", ... at the field
            "environment.<name>" ("secret.<name>" for a secret variable).
    """
    given = {"environment": _object(environment), "secret": _object(secret)}
    answers = {part: dict(values) for part, values in given.items()}
    for var in templates.survey_vars(template):
        part = "secret" if var.get("type") == "secret" else "environment"
        _answer(var, answers[part], f"{part}.{var['name']}")
    return (
        _text(environment, given["environment"], answers["environment"]),
        _text(secret, given["secret"], answers["secret"]),
    )


def _answer(var: Mapping[str, Any], values: dict[str, Any], field: str) -> None:
    """Check one variable's answer in `values`, filling in its default when it has none."""
    name = var["name"]
    if values.get(name) is None:
        try:
            default = default_answer(var)
        except BadAnswer as exc:
            # Stored before the rule refused it: the template needs correcting.
            raise ValidationError(f"the default value of {name} {exc}", field) from None
        if default is not None:
            values[name] = default
    try:
        answer = survey_answer(var, values.get(name))
    except BadAnswer as exc:
        raise ValidationError(f"{name} {exc}", field) from None
    if name in values:
        values[name] = answer


def _object(text: str | None) -> dict[str, Any]:
    value = parse_json_text(text, default={}) if text else {}
    return value if isinstance(value, dict) else {}


def _text(text: str | None, given: dict[str, Any], answers: dict[str, Any]) -> str:
    if answers == given:
        return text or ""
    return json.dumps(answers) if answers else ""
