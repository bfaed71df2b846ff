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

from collections.abc import Sequence
from typing import Any

from flask import g, has_app_context
from sqlalchemy import Row, Select, bindparam

from semaphore.extensions import db
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


class SignInStatement:
    """A sign-in statement (selecting a User among its first columns), built once, and the same
    with the project and the user's role in it (`with_project_role`) for project routes."""

    def __init__(self, statement: Select) -> None:
        self.plain = statement
        self.with_project = with_project_role(statement)

    def first(self, params: dict[str, Any], project_id: int | None) -> Row | None:
        """The first row: the statement's columns, then the project and the role when a
        project id is given."""
        if project_id is None:
            return db.session.execute(self.plain, params).first()
        return db.session.execute(self.with_project, {**params, "project_id": project_id}).first()


def remember(user: User, project_id: int | None, found: Sequence[Any]) -> None:
    """Keep what a sign-in statement read about the project (its last two columns, or a kept
    sign-in's project and role: token_cache.py) for this request's permission check; nothing
    off project routes."""
    if project_id is not None and has_app_context():
        setattr(g, _KEY, (user.id, project_id, found[-2], found[-1]))


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
