"""A schedule: what a request (or the schedule form) gives and what the API shows.

The cron expression is checked by the one parser (schemas.cron), the one the scheduler runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from semaphore.schemas.base import (
    InputModel,
    JsonBool,
    JsonInt,
    OutputModel,
    ShortText,
    Text,
    Timestamp,
    invalid,
    list_of,
)
from semaphore.schemas.cron import parse_cron
from semaphore.schemas.tasks import StoredObject, TaskParams

SCHEDULE_TYPES = ("", "run_at")
Kind = Text(16)
RunAt = Text(64)


def run_at_time(value: str) -> datetime | None:
    """An RFC 3339 date and time, in UTC when it names no zone; None for ""."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_cron(expression: str) -> None:
    """Refuse an expression the one parser refuses, as "Cron: <reason>"."""
    try:
        parse_cron(expression)
    except ValueError as exc:
        raise invalid(f"Cron: {exc}", "cron_format") from None


class CronIn(InputModel):
    """POST …/schedules/validate: an expression to check."""

    cron_format: str = ""

    @model_validator(mode="after")
    def _cron(self) -> CronIn:
        check_cron(self.cron_format)
        return self


class ScheduleIn(InputModel):
    """POST and PUT …/schedules, and the schedule form. The template and repository must be
    the project's, and id/project_id match the URL (checked by the service)."""

    id: JsonInt | None = None
    project_id: JsonInt | None = None
    type: Kind = ""
    cron_format: ShortText = ""
    name: ShortText = ""
    active: JsonBool = False
    run_at: RunAt = Field("", validate_default=True)
    task_params: TaskParams | None = None
    template_id: JsonInt | None = None
    repository_id: JsonInt | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, kind: str) -> str:
        if kind not in SCHEDULE_TYPES:
            raise invalid("type must be '' or run_at")
        return kind

    @field_validator("run_at")
    @classmethod
    def _run_at(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.data.get("type") == "run_at":
            raise invalid("run_at is required")
        try:
            run_at_time(value)
        except ValueError:
            raise invalid("run_at must be an RFC 3339 date and time") from None
        return value

    @model_validator(mode="after")
    def _cron(self) -> ScheduleIn:
        # A run_at schedule needs no expression, but one it is given must be valid.
        if self.type == "" or self.cron_format:
            check_cron(self.cron_format)
        return self


class ScheduleOut(OutputModel):
    """A schedule as the contract shows it, with the repository whose new commits it waits for
    (the original's field, not in the 2.16 contract)."""

    id: int
    project_id: int
    template_id: int
    name: str
    cron_format: str
    active: bool
    type: str
    run_at: Timestamp | None
    repository_id: int | None
    task_params: StoredObject


class ScheduleWithTemplate(ScheduleOut):
    """A schedule in the project's list: with its template's name (the original's tpl_name)."""

    tpl_name: str

    @classmethod
    def of(cls, schedule: Any, template_name: str) -> dict[str, Any]:
        values = {name: getattr(schedule, name) for name in ScheduleOut.model_fields}
        return cls.dump({**values, "tpl_name": template_name})


class ScheduleActiveIn(InputModel):
    """PUT …/schedules/{id}/active."""

    active: JsonBool | None = None

    @model_validator(mode="after")
    def _required(self) -> ScheduleActiveIn:
        if self.active is None:
            raise invalid("active is required", "active")
        return self


ScheduleList = list_of(ScheduleOut)
ScheduleWithTemplateList = list_of(ScheduleWithTemplate)
