"""Lists: sorting by the original's `sort` and `order` query parameters, and paging (ours)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from semaphore.extensions import db

if TYPE_CHECKING:
    # A type only: the scheduler lists nothing and never loads pydantic (issue 17).
    from semaphore.schemas.listing import Page

T = TypeVar("T")


def sorted_query(
    query: Select,
    columns: Mapping[str, ColumnElement],
    sort: str | None,
    order: str | None,
    default: str,
    tiebreak: ColumnElement | None = None,
) -> Select:
    """Order by the named column (case-insensitive for text), ascending unless order=desc.

    An unknown `sort` falls back to `default`, as the original ignores it.
    """
    column = columns.get(sort or "", columns[default])
    try:
        is_text = column.type.python_type is str
    except NotImplementedError:
        is_text = False
    key = func.lower(column) if is_text else column
    ordered = key.desc() if (order or "").lower() == "desc" else key.asc()
    query = query.order_by(ordered)
    if tiebreak is not None:
        query = query.order_by(tiebreak)
    return query


class Rows(list[T]):
    """A list's rows. `total` is how many rows the whole list has when these are one page of
    it, None when they are the whole list; callers that never page treat it as a plain list."""

    def __init__(self, rows: Iterable[T] = (), total: int | None = None) -> None:
        super().__init__(rows)
        self.total = total


def rows(query: Select, page: Page | None = None, *, scalars: bool = True) -> Rows[Any]:
    """The rows of a sorted query (entities when `scalars`, else tuples), or one page of them.

    A page is read in SQL (LIMIT/OFFSET), with one COUNT of the same query for its total, so
    the query's order must end with a unique column (the id) or pages could overlap, and the
    query must have no LIMIT of its own.
    """
    if page is None:
        return Rows(_run(query, scalars))
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    total = db.session.scalar(counted) or 0
    # A page past the end is empty; not asking spares a query and an OFFSET beyond any integer.
    if page.offset >= total:
        return Rows([], total)
    return Rows(_run(query.limit(page.size).offset(page.offset), scalars), total)


def _run(query: Select, scalars: bool) -> list[Any]:
    if scalars:
        return list(db.session.scalars(query))
    return [tuple(row) for row in db.session.execute(query)]
