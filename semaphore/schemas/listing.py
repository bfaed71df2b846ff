"""Paging of the list routes (an addition: the original answers whole arrays).

`?limit=<n>&page=<p>` asks for the p-th run of n rows; the answer stays a plain JSON array, with
the total in `X-Total-Count` and the neighbouring pages in `Link`. Without either parameter a
list answers every row, as the original does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from semaphore.schemas.base import InputModel

MAX_LIMIT = 1000
# For `?page=` without `limit`: a page the size of a screenful, far below MAX_LIMIT.
DEFAULT_LIMIT = 100


def _no_default(schema: dict[str, Any]) -> None:
    # "Absent" is not a value of the parameter: no `default: null` beside `type: integer`.
    schema.pop("default", None)


# For the document: api/paging.py reads the arguments itself, with these bounds, to name the
# argument at fault in a 400 and never coerce "5.0" or " 5".
class PageQuery(InputModel):
    """GET of a list: `limit` rows (1 to 1000; 100 when only `page` is given) of page `page`
    (from 1, default 1). The total is in the X-Total-Count header, the next and previous pages
    in the Link header (RFC 8288). Without both, every row, as the original."""

    # A query argument is never null: the document shows bounded integers only.
    page: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = Field(
        default=None,
        description="The page, from 1 (default 1 when `limit` is given).",
        json_schema_extra=_no_default,
    )
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] | SkipJsonSchema[None] = Field(
        default=None,
        description=f"Rows per page, 1 to {MAX_LIMIT} ({DEFAULT_LIMIT} when only `page` is given).",
        json_schema_extra=_no_default,
    )


@dataclass(frozen=True)
class Page:
    """One page of a list: `size` rows from the `number`-th run of them (1-based)."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size
