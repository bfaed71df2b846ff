"""Declarative base, naming convention and the column helpers every model shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, Text
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

# Named constraints keep Alembic migrations identical on SQLite, PostgreSQL and MySQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stored as a naive UTC timestamp on every backend, read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class JsonText(TypeDecorator):
    """A JSON value (an object or an array) stored as text, as the original stores survey
    variables and task parameters; Python code reads and assigns the value itself.

    Values are checked by the schemas before they are assigned; a stored text that no longer
    parses (written by hand, or by an old version) reads as None rather than failing a page.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, str | bytes):
            # Text here would be stored as a JSON string and read back as one: a writer that
            # still encodes by hand is a bug, caught at the first flush.
            raise TypeError("a JsonText column takes the value, not its JSON text")
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect) -> Any:
        if not value:
            return None
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return None


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


def isoformat(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with fractional seconds, as the original writes times."""
    if value is None:
        return None
    # isoformat, not strftime: glibc's %Y does not pad years before 1000 to four digits.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
