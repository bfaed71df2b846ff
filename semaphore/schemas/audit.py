"""The audit trail's filters (GET /api/audit and the /audit page) and its events as the API,
the page and the JSON-lines export show them."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from semaphore.models import AUDIT_KINDS
from semaphore.schemas.base import MAX_NAME, InputModel, OutputModel, Timestamp, invalid, list_of
from semaphore.schemas.listing import PageQuery

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _kind(value: Any) -> Any:
    if value not in AUDIT_KINDS:
        raise invalid("is not a kind of audit event")
    return value


def _day(value: Any) -> Any:
    # Only YYYY-MM-DD, the value of an <input type="date">; not pydantic's other date forms.
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise invalid("must be a date (YYYY-MM-DD)")


Day = Annotated[date, BeforeValidator(_day), WithJsonSchema({"type": "string", "format": "date"})]


class AuditFilterIn(InputModel):
    """Which events: of one kind, by actors whose login contains `actor`, on days from `since`
    to `until` (UTC, both included)."""

    kind: (
        Annotated[
            str,
            BeforeValidator(_kind),
            WithJsonSchema({"type": "string", "enum": list(AUDIT_KINDS)}),
        ]
        | None
    ) = None
    actor: Annotated[str, Field(max_length=MAX_NAME)] | None = None
    since: Day | None = None
    until: Day | None = None


class AuditQuery(AuditFilterIn, PageQuery):
    """GET /api/audit's arguments: the filters, and the page (newest events first)."""


class AuditEventOut(OutputModel):
    """One audit event. `actor_login` is the actor's username at the time (for a failed
    sign-in, the login tried); `details` holds small facts such as the sign-in method or a role,
    never a secret."""

    id: int
    created: Timestamp
    kind: str
    actor_id: int | None
    actor_login: str
    address: str
    target_type: str | None
    target_id: int | None
    target_name: str | None
    project_id: int | None
    details: dict[str, Any] | None


AuditEventList = list_of(AuditEventOut)
