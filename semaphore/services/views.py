"""Views: named tabs that group a project's templates, shown in the order of `position`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update

from semaphore.errors import ValidationError
from semaphore.extensions import db
from semaphore.models import Template, View
from semaphore.schemas.base import parse
from semaphore.schemas.listing import Page
from semaphore.schemas.views import ViewIn
from semaphore.services import events, listing
from semaphore.services import validation as v
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import check_body_ids, get_in_project


def list_views(access: ProjectAccess, *, page: Page | None = None) -> listing.Rows[View]:
    """The project's views by position."""
    query = (
        select(View).where(View.project_id == access.project_id).order_by(View.position, View.id)
    )
    return listing.rows(query, page)


def get_view(access: ProjectAccess, view_id: int) -> View:
    """The project's view.

    Raises:
        NotFound: no such view in this project.
    """
    return get_in_project(View, view_id, access.project_id, "View")


def _next_position(access: ProjectAccess) -> int:
    last = db.session.scalar(
        select(func.max(View.position)).where(View.project_id == access.project_id)
    )
    return (last or 0) + 1


def _view_values(
    access: ProjectAccess, data: Mapping[str, Any], view_id: int | None
) -> tuple[dict[str, Any], int | None]:
    """The view's columns from the request, and the position it asks for (None: not given)."""
    v.require_mapping(data)
    check_body_ids(access, data, "View", view_id)
    body = parse(ViewIn, data)
    values = {
        "title": body.title,
        "hidden": body.hidden,
        "type": body.type,
        "sort_column": body.sort_column,
        "sort_reverse": body.sort_reverse,
    }
    return values, body.position


def create_view(access: ProjectAccess, data: Mapping[str, Any]) -> View:
    """A new view, placed last unless a position is given."""
    access.require(MANAGE_RESOURCES)
    values, position = _view_values(access, data, None)
    view = View(project_id=access.project_id, **values)
    view.position = _next_position(access) if position is None else position
    db.session.add(view)
    db.session.flush()
    events.record(access, "view", view.id, f"View {view.title} created")
    db.session.commit()
    return view


def update_view(access: ProjectAccess, view_id: int, data: Mapping[str, Any]) -> View:
    """Rename, move or restyle a view."""
    access.require(MANAGE_RESOURCES)
    view = get_view(access, view_id)
    values, position = _view_values(access, data, view_id)
    for key, value in values.items():
        setattr(view, key, value)
    if position is not None:
        view.position = position
    events.record(access, "view", view.id, f"View {view.title} updated")
    db.session.commit()
    return view


def delete_view(access: ProjectAccess, view_id: int) -> None:
    """Remove a view; its templates stay, in no view."""
    access.require(MANAGE_RESOURCES)
    view = get_view(access, view_id)
    db.session.execute(
        update(Template).where(Template.view_id == view_id).values(view_id=None),
        execution_options={"synchronize_session": "fetch"},
    )
    title = view.title
    db.session.delete(view)
    events.record(access, "view", view_id, f"View {title} deleted")
    db.session.commit()


def _positions(access: ProjectAccess, data: Any) -> dict[int, int]:
    v.require_mapping(data)
    positions: dict[int, int] = {}
    for raw_id in data:
        try:
            view_id = int(raw_id)
        except (TypeError, ValueError):
            raise ValidationError(f"{raw_id} is not a view ID", str(raw_id)) from None
        positions[view_id] = v.integer(data, raw_id, required=True)
    known = set(
        db.session.scalars(
            select(View.id).where(View.project_id == access.project_id, View.id.in_(positions))
        )
    )
    unknown = sorted(set(positions) - known)
    if unknown:
        raise ValidationError(f"View {unknown[0]} does not exist in this project")
    return positions


def set_positions(access: ProjectAccess, data: Mapping[str, Any]) -> None:
    """Reorder views from a {view_id: position} map (the original's drag and drop)."""
    access.require(MANAGE_RESOURCES)
    positions = _positions(access, data)
    for view in list_views(access):
        if view.id in positions:
            view.position = positions[view.id]
    events.record(access, "view", None, "View positions updated")
    db.session.commit()
