"""The activity log: services record one event per change, in the change's own transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from semaphore.extensions import db
from semaphore.models import Event, Project, ProjectUser, User
from semaphore.services import listing
from semaphore.services.permissions import ProjectAccess

if TYPE_CHECKING:
    from semaphore.schemas.listing import Page  # a type only (pydantic; issue 17)

LAST_EVENTS_LIMIT = 200


def record(
    access: ProjectAccess | None,
    object_type: str,
    object_id: int | None,
    description: str,
    *,
    object_name: str = "",
    user: User | None = None,
    project_id: int | None = None,
    integration_id: int | None = None,
) -> Event:
    """Add an event to the session; the caller's commit writes it with the change."""
    event = Event(
        project_id=access.project_id if access is not None else project_id,
        user_id=access.user_id if access is not None else (user.id if user else None),
        integration_id=integration_id,
        object_id=object_id,
        object_type=object_type,
        object_name=object_name,
        description=description,
    )
    db.session.add(event)
    return event


def _with_names(query):
    return (
        query.outerjoin(User, User.id == Event.user_id)
        .outerjoin(Project, Project.id == Event.project_id)
        .add_columns(User.username, Project.name)
        .order_by(Event.created.desc(), Event.id.desc())
    )


def list_project_events(
    access: ProjectAccess, limit: int | None = None, *, page: Page | None = None
) -> listing.Rows[tuple]:
    """A project's events, newest first, as (event, username, project_name)."""
    query = _with_names(select(Event).where(Event.project_id == access.project_id))
    if limit:
        query = query.limit(limit)
    return listing.rows(query, page, scalars=False)


def list_user_events(
    actor: User, limit: int | None = None, *, page: Page | None = None
) -> listing.Rows[tuple]:
    """Events of the actor's projects (every project for an admin) and those of no project."""
    query = select(Event)
    if not actor.admin:
        member_of = select(ProjectUser.project_id).where(ProjectUser.user_id == actor.id)
        query = query.where(or_(Event.project_id.is_(None), Event.project_id.in_(member_of)))
    query = _with_names(query)
    if limit:
        query = query.limit(limit)
    return listing.rows(query, page, scalars=False)
