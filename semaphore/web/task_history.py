"""The task lists of the history page and a template's page: paging, filters, and the poll that
keeps them current.

The query string holds the page (`page`, `per_page`) and the filters (services/tasks/history.py);
a refused value is ignored and named at its field (the answer is then 422). The list polls its
own URL every 1.5 s with `known=<change token>`: while the project has not changed, the answer is
204 (htmx swaps nothing) after one Redis read, else the list is drawn again. The first page
always polls, so new tasks appear; a later page only while it shows an unfinished task, to
follow its status: a page that is all history stays still under its reader, whereas new tasks
would push its rows down a page at each redraw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Response, make_response, url_for

from semaphore.models import FINISHED_STATUSES, TASK_STATUSES
from semaphore.schemas.listing import Page
from semaphore.services import projects, tasks
from semaphore.services.permissions import ProjectAccess
from semaphore.services.tasks import history
from semaphore.services.tasks import origins as task_origins
from semaphore.services.tasks.history import TaskFilter
from semaphore.services.validation import counting_number
from semaphore.web.htmx import is_htmx

# Under 2 s, so that a new task shows within 2 s of its creation, the poll's answer included.
POLL_EVERY = "1.5s"
PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 50
# The whole list with its filters, swapped by the filter form and the pager; the poll swaps
# the list only, so that a filter being edited is left alone.
HISTORY_PARTIAL = "projects/tasks/_history.html"
LIST_PARTIAL = "projects/tasks/_list.html"


@dataclass(frozen=True)
class ListArgs:
    """What a list's query string asks for, and a message for each value refused."""

    page: Page
    filters: TaskFilter
    errors: dict[str, str]
    known: str | None

    @property
    def is_poll(self) -> bool:
        return self.known is not None

    @property
    def partial(self) -> str:
        return LIST_PARTIAL if self.is_poll else HISTORY_PARTIAL

    @property
    def http_status(self) -> int:
        return 422 if self.errors else 200


def read_args(args: Mapping[str, str], with_template: bool = True) -> ListArgs:
    """The page, page size, filters and poll token of a query string (a template's page has no
    template filter: its own template is the filter)."""
    filters, errors = history.parse_filter(args)
    if not with_template:
        errors.pop("template", None)
        filters = dataclasses.replace(filters, template_id=None)
    number = _whole(args.get("page"), 1)
    if number is None:
        errors["page"] = "Page must be a whole number from 1"
    size = _whole(args.get("per_page"), DEFAULT_PAGE_SIZE)
    if size not in PAGE_SIZES:
        errors["per_page"] = "Tasks per page must be one of: " + ", ".join(map(str, PAGE_SIZES))
        size = DEFAULT_PAGE_SIZE
    page = Page(number=number or 1, size=size or DEFAULT_PAGE_SIZE)
    return ListArgs(page, filters, errors, args.get("known"))


def _whole(raw: str | None, default: int) -> int | None:
    if not raw:
        return default
    return counting_number(raw)


def no_change(access: ProjectAccess, asked: ListArgs) -> Response | None:
    """204 for a poll whose list is still as drawn; None when it must be drawn again."""
    if not (asked.is_poll and is_htmx() and history.unchanged(access, asked.known)):
        return None
    response = make_response("", 204)
    response.headers["Vary"] = "HX-Request"
    return response


def list_context(
    access: ProjectAccess,
    asked: ListArgs,
    endpoint: str,
    url_args: Mapping[str, int],
    template_id: int | None = None,
) -> dict:
    """One page of the list (`template_id`'s tasks, else the project's) at `endpoint` with
    `url_args`, and what the partials draw around it: the pager, the filter form's choices, the
    poll's URL, who started each task and why waiting ones wait."""
    # Taken before the rows are read: the token never claims rows newer than those drawn.
    stamp = history.stamp(access)
    page = asked.page
    rows = tasks.list_tasks(access, template_id, page=page, filters=asked.filters)
    total = rows.total or 0
    if not rows and total:  # past the last page (tasks deleted meanwhile): show the last
        page = Page(number=-(-total // page.size), size=page.size)
        rows = tasks.list_tasks(access, template_id, page=page, filters=asked.filters)
    active = any(task.status not in FINISHED_STATUSES for task, _, _ in rows)
    polling = page.number == 1 or active
    token = history.change_token(stamp, active)
    query = asked.filters.query_args()
    if page.size != DEFAULT_PAGE_SIZE:
        query["per_page"] = str(page.size)

    def page_url(number: int) -> str:
        return url_for(endpoint, **url_args, **query, page=number)

    pages = max(1, -(-total // page.size))
    return {
        "rows": rows,
        "origins": task_origins.origins(task for task, _, _ in rows),
        "waiting_reasons": tasks.waiting_reasons([task for task, _, _ in rows]),
        "polling": polling,
        "poll_every": POLL_EVERY,
        "poll_url": url_for(endpoint, **url_args, **query, page=page.number, known=token or ""),
        "list_url": url_for(endpoint, **url_args),
        "pager": {
            "number": page.number,
            "pages": pages,
            "total": total,
            "first": page.offset + 1 if rows else 0,
            "last": page.offset + len(rows),
            "previous": page_url(page.number - 1) if page.number > 1 else None,
            "next": page_url(page.number + 1) if page.number < pages else None,
        },
        "filters": asked.filters,
        "filtered": bool(asked.filters),
        "errors": asked.errors,
        "per_page": page.size,
        "page_sizes": PAGE_SIZES,
        "statuses": TASK_STATUSES,
        # The filter form's choices; a poll redraws the list alone, without the form.
        "template_choices": (
            history.template_choices(access) if template_id is None and not asked.is_poll else None
        ),
        "user_choices": [] if asked.is_poll else _user_choices(access, asked.filters),
    }


def _user_choices(access: ProjectAccess, filters: TaskFilter) -> list[tuple[str, str]]:
    """The "started by" select's options (value, label): the members by name, and the user
    filtered by when no longer one."""
    choices = [(str(user.id), user.name) for user, _ in projects.list_members(access)]
    if isinstance(filters.user, int) and str(filters.user) not in dict(choices):
        choices.append((str(filters.user), f"User #{filters.user}"))
    return choices
