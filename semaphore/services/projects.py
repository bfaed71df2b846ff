"""Projects: which ones a user sees."""

from __future__ import annotations

from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import Project, ProjectUser, User


def list_projects(actor: User) -> list[Project]:
    """Projects the actor belongs to (every project for an admin), by name."""
    query = select(Project).order_by(func.lower(Project.name), Project.id)
    if not actor.admin:
        query = query.join(ProjectUser, ProjectUser.project_id == Project.id).where(
            ProjectUser.user_id == actor.id
        )
    return list(db.session.scalars(query))
