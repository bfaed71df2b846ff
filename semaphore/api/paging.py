"""`?page=<p>&limit=<n>` on the list routes (an addition): read the arguments, write the headers.

The body stays the plain JSON array the original's clients expect; the total goes in
`X-Total-Count` and the neighbouring pages in an RFC 8288 `Link` header. Without either argument
nothing is read or written here, and the list is answered whole, as the original does.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Response, request

from semaphore.errors import ValidationError
from semaphore.schemas.listing import DEFAULT_LIMIT, MAX_LIMIT, Page

# Digits only ("+5", " 5", "5.0" and "²" are refused); 18 of them parse without a big integer.
_WHOLE = re.compile(r"[0-9]{1,18}")


def _whole(name: str, lowest: int, highest: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":  # as for the output's `after` and `limit`: empty is absent
        return None
    value = int(raw) if _WHOLE.fullmatch(raw) else None
    if value is None or value < lowest or (highest is not None and value > highest):
        bounds = f"between {lowest} and {highest}" if highest is not None else f"{lowest} or more"
        raise ValidationError(f"{name} must be an integer {bounds}", name)
    return value


def page_args() -> Page | None:
    """The page the request asks for; None when it asks for no page (the whole list).

    Raises:
        ValidationError: `page` or `limit` is not a whole number in range.
    """
    number = _whole("page", 1, None)
    size = _whole("limit", 1, MAX_LIMIT)
    if number is None and size is None:
        return None
    return Page(number=number or 1, size=size or DEFAULT_LIMIT)


def paged(response: Response, page: Page | None, total: int | None) -> Response:
    """The answer with X-Total-Count and Link headers when it is one page of `total` rows."""
    if page is None or total is None:
        return response
    response.headers["X-Total-Count"] = str(total)
    last = max(1, -(-total // page.size))
    links = []
    if page.number < last:
        links.append(f'<{_url_of(page.number + 1, page.size)}>; rel="next"')
    if page.number > 1:
        # From past the end, "prev" is the last page that has rows.
        links.append(f'<{_url_of(min(page.number - 1, last), page.size)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def _url_of(number: int, size: int) -> str:
    """This request's URL (relative, as RFC 8288 allows) with its other arguments kept."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "limit")]
    query = urlencode([*kept, ("page", number), ("limit", size)])
    return f"{request.script_root}{request.path}?{query}"
