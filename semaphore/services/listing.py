"""Sorting lists by the original's `sort` and `order` query parameters."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Select, func
from sqlalchemy.sql.elements import ColumnElement


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
