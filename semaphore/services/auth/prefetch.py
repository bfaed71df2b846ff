"""The project and the caller's role in it, read by the sign-in statement of a project route.

On /api/project/<id>/... and the project pages, the statement that checks the bearer token or
the session cookie also reads the project and the caller's role, so that the permission check
(permissions.project_access) needs no round trip of its own: under concurrency each one costs far
more than its own time (issue 17). Only the row is kept here, never a decision: whether it grants
access is decided in project_access alone.

The row lives in `g` for one request: the first check for that user and project takes it, so a
later check in the same request (after a write, or a long socket's periodic one) asks the
database again, and whatever is left is dropped when the request ends.
"""

from __future__ import annotations

from flask import g, has_app_context
from sqlalchemy import Select, bindparam

from semaphore.models import Project, ProjectUser, User

_KEY = "signin_project_row"


def with_project_role(statement: Select) -> Select:
    """`statement`, which selects a User, with the project :project_id and that user's role in
    it as two more columns (None when there is no such project, or no such member)."""
    return (
        statement.add_columns(Project, ProjectUser.role)
        .outerjoin(Project, Project.id == bindparam("project_id"))
        .outerjoin(
            ProjectUser,
            (ProjectUser.project_id == Project.id) & (ProjectUser.user_id == User.id),
        )
    )


def remember(user: User, project_id: int, project: Project | None, role: str | None) -> None:
    """Keep what the sign-in read about the project for this request's permission check."""
    if has_app_context():
        setattr(g, _KEY, (user.id, project_id, project, role))


def take(user: User, project_id: int) -> tuple[Project | None, str | None] | None:
    """The (project, role) the sign-in read for this user and project, once; None if it read
    nothing for them."""
    kept = g.get(_KEY) if has_app_context() else None
    if kept is None or kept[:2] != (user.id, project_id):
        return None
    g.pop(_KEY)
    return kept[2], kept[3]


def forget(_exc: BaseException | None = None) -> None:
    """Drop what this request kept (a teardown hook: nothing outlives the request)."""
    g.pop(_KEY, None)
