"""The task template list: view tabs, search, app filter, paging and each row's last task.

Its state lives in the URL (`?view=&q=&app=&page=&per_page=`), so a pushed URL, a reload and
the table's own polling show the same rows. A bad argument is named above the table with 422
and the list falls back to that argument's default, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Response, request, url_for
from flask_login import login_required

from semaphore.models import FINISHED_STATUSES, Template, View
from semaphore.schemas.listing import Page
from semaphore.services import environments, inventories, repositories, templates, views
from semaphore.services.listing import Rows
from semaphore.services.permissions import ProjectAccess
from semaphore.services.tasks.origins import origins
from semaphore.services.validation import counting_number
from semaphore.web.blueprint import web_blueprint
from semaphore.web.htmx import render
from semaphore.web.project_resources import project_scope
from semaphore.web.tasks import STATUS_TITLES
from semaphore.web.templates import APP_TITLES, TYPE_TITLES

PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
# Seconds between refreshes of the rows: quick while a row's last task runs, else slow enough
# to cost little but still show a task someone else started.
BUSY_POLL, IDLE_POLL = 3, 10


@dataclass
class ListState:
    """What the list shows, read from the query string, and what was wrong with it."""

    view: View | None = None
    search: str = ""
    app: str = ""
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE
    errors: dict[str, str] = field(default_factory=dict)

    def args(self, **changes: object) -> dict[str, object]:
        """The query arguments of this state (defaults left out), with some changed."""
        args: dict[str, object] = {
            "view": self.view.id if self.view else None,
            "q": self.search or None,
            "app": self.app or None,
            "page": self.page if self.page > 1 else None,
            "per_page": self.per_page if self.per_page != DEFAULT_PAGE_SIZE else None,
        }
        args.update(changes)
        return {name: value for name, value in args.items() if value not in (None, "")}


@web_blueprint.get("/project/<int:project_id>/templates")
@login_required
def templates_index(project_id: int) -> Response:
    access = project_scope(project_id)
    project_views = views.list_views(access)
    state = _state(project_views)
    rows = _rows(access, state)
    last = templates.last_tasks(rows)
    busy = any(task.status not in FINISHED_STATUSES for task, _ in last.values())
    return render(
        "projects/templates/index.html",
        partial="projects/templates/_list.html",
        status=422 if state.errors else 200,
        access=access,
        state=state,
        templates=rows,
        pages=max(1, -(-(rows.total or 0) // state.per_page)),
        page_sizes=PAGE_SIZES,
        tabs=[view for view in project_views if not view.hidden],
        apps=templates.template_apps(access),
        last=last,
        origins=origins(task for task, _ in last.values()),
        poll_seconds=BUSY_POLL if busy else IDLE_POLL,
        names=_names(access, project_views),
        link=lambda **changes: _url(project_id, state, **changes),
        app_titles=APP_TITLES,
        type_titles=TYPE_TITLES,
        status_titles=STATUS_TITLES,
    )


def _rows(access: ProjectAccess, state: ListState) -> Rows[Template]:
    """One page of the templates the state asks for; a view of type "all" filters nothing."""
    view = state.view
    return templates.list_templates(
        access,
        sort=view.sort_column if view else None,
        order="desc" if view and view.sort_reverse else None,
        view_id=view.id if view and view.type != "all" else None,
        app=state.app or None,
        search=state.search,
        page=Page(number=state.page, size=state.per_page),
    )


def _state(project_views: list[View]) -> ListState:
    """The list's state from the query string; a bad argument is named and left at its default."""
    state = ListState(search=request.args.get("q", "").strip()[:255])
    raw_view = request.args.get("view", "")
    if raw_view:
        by_id = {str(view.id): view for view in project_views}
        state.view = by_id.get(raw_view)
        if state.view is None:
            state.errors["view"] = f"View {raw_view[:20]} does not exist in this project"
    app = request.args.get("app", "")
    if app and app not in templates.VALID_APPS:
        state.errors["app"] = f"Unknown app {app}"
    else:
        state.app = app
    raw_page = request.args.get("page", "")
    if raw_page and counting_number(raw_page) is None:
        state.errors["page"] = "page must be a whole number from 1"
    elif raw_page:
        state.page = int(raw_page)
    raw_size = request.args.get("per_page", "")
    if raw_size and raw_size not in {str(size) for size in PAGE_SIZES}:
        state.errors["per_page"] = "per_page must be 10, 20, 50 or 100"
    elif raw_size:
        state.per_page = int(raw_size)
    return state


def _names(access: ProjectAccess, project_views: list[View]) -> dict[str, dict[int, str]]:
    """Names of what templates refer to, by id, for the list."""
    return {
        "repository": {r.id: r.name for r in repositories.list_repositories(access)},
        "inventory": {i.id: i.name for i in inventories.list_inventories(access)},
        "environment": {e.id: e.name for e in environments.list_environments(access)},
        "view": {v.id: v.title for v in project_views},
    }


def _url(project_id: int, state: ListState, **changes: object) -> str:
    """The list's URL for this state with some arguments changed (page links, tabs)."""
    return url_for("web.templates_index", project_id=project_id, **state.args(**changes))
