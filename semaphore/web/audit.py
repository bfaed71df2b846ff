"""The audit trail page (/audit, administrators): filters by kind, actor and days, paged.

The filter form and the table are one partial, swapped whole by htmx, so a refused filter
shows its message at its field and the URL (pushed) reloads the same page.
"""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user, login_required

from semaphore.errors import ValidationError
from semaphore.models import AUDIT_KINDS
from semaphore.schemas.listing import Page
from semaphore.services import audit, listing
from semaphore.services.validation import counting_number
from semaphore.web.blueprint import web_blueprint
from semaphore.web.htmx import render

PAGE_SIZE = 50
FILTERS = ("kind", "actor", "since", "until")


@web_blueprint.get("/audit")
@login_required
def audit_index() -> Response:
    filters = {name: request.args.get(name, "") for name in FILTERS}
    errors: dict[str, str] = {}
    rows: listing.Rows = listing.Rows([], 0)
    number = _page_number()
    page = Page(number=number or 1, size=PAGE_SIZE)
    try:
        rows = audit.list_events(current_user, filters, page=page)
    except ValidationError as exc:
        errors[exc.field or "form"] = exc.message
    if number is None:  # after the administrator check: a non-admin gets 403 whatever is asked
        errors["page"] = "page must be a whole number from 1"
    return render(
        "audit/index.html",
        partial="audit/_trail.html",
        status=422 if errors else 200,
        events=rows,
        filters=filters,
        errors=errors,
        kinds=AUDIT_KINDS,
        current=page,
        pages=max(1, -(-(rows.total or 0) // PAGE_SIZE)),
    )


def _page_number() -> int | None:
    """The page asked for (1 when none is); None when `page` is not a whole number from 1."""
    raw = request.args.get("page", "")
    if not raw:
        return 1
    return counting_number(raw)
