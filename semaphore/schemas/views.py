"""A view (a tab that groups a project's templates): what a request gives and what the API
shows, and the body that reorders the views."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, RootModel, field_validator

from semaphore.schemas.base import (
    InputModel,
    JsonBool,
    JsonInt,
    Name,
    OutputModel,
    Text,
    invalid,
    list_of,
)

VIEW_TYPES = ("", "all")
# The contract's only sort column for a view's templates.
SORT_COLUMNS = ("name",)
ViewType = Text(16)
SortColumn = Text(32)


class ViewIn(InputModel):
    """POST and PUT …/views: the fields in the order they are checked. A missing position
    places a new view last and keeps an updated one where it is."""

    # The original's body carries the ids too; the service checks they match the URL's.
    id: JsonInt | None = None
    project_id: JsonInt | None = None
    type: ViewType = ""
    sort_column: SortColumn | None = None
    title: Name
    position: JsonInt | None = None
    hidden: JsonBool = False
    sort_reverse: JsonBool = False

    @field_validator("type")
    @classmethod
    def _type(cls, kind: str) -> str:
        if kind not in VIEW_TYPES:
            raise invalid("type must be '' or all")
        return kind

    @field_validator("sort_column")
    @classmethod
    def _sort_column(cls, column: str | None) -> str | None:
        if column and column not in SORT_COLUMNS:
            raise invalid(f"sort_column must be one of {', '.join(SORT_COLUMNS)}")
        return column or None


class ViewPositionsIn(RootModel[dict[str, int]]):
    """POST …/views/positions: {view id: position}. The service reads it (each key must name
    one of the project's views)."""


def _unset_as_empty(value: Any) -> Any:
    return "" if value is None else value


class ViewOut(OutputModel):
    """A view as the original shows it."""

    id: int
    project_id: int
    title: str
    position: int
    hidden: bool
    type: str
    sort_reverse: bool
    # The contract's enum has no empty value, so an unset column is left out.
    sort_column: Annotated[str, BeforeValidator(_unset_as_empty)] = Field(
        default="", exclude_if=lambda column: not column
    )


ViewList = list_of(ViewOut)
