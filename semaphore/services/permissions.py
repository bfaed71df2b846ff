"""Project roles and the one permission check that the API, the pages and the jobs share.

A non-member who is not an admin cannot tell a project exists (NotFound). Reading is open to
every member; changing needs the permission bit of the action (the original's matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from semaphore.errors import NotFound, PermissionDenied
from semaphore.extensions import db
from semaphore.models import Project, ProjectUser, User
from semaphore.services.auth import prefetch

RUN_TASKS = 1
UPDATE_PROJECT = 2
MANAGE_RESOURCES = 4
MANAGE_USERS = 8
ALL_PERMISSIONS = RUN_TASKS | UPDATE_PROJECT | MANAGE_RESOURCES | MANAGE_USERS

ROLE_PERMISSIONS = {
    "owner": ALL_PERMISSIONS,
    "manager": RUN_TASKS | MANAGE_RESOURCES,
    "task_runner": RUN_TASKS,
    "guest": 0,
}

ROLE_TITLES = {
    "owner": "Owner",
    "manager": "Manager",
    "task_runner": "Task runner",
    "guest": "Guest",
}


@dataclass(frozen=True)
class ProjectAccess:
    """What `user` may do in `project`; `role` is "" for an admin who is not a member.

    `user` is None for the system (scheduler, workers, CLI), which may do anything.
    """

    project: Project
    user: User | None
    role: str

    @property
    def project_id(self) -> int:
        return self.project.id

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @property
    def is_admin(self) -> bool:
        return self.user is None or self.user.admin

    @property
    def permissions(self) -> int:
        if self.is_admin and not self.role:
            return ALL_PERMISSIONS
        return ROLE_PERMISSIONS.get(self.role, 0)

    def can(self, permission: int) -> bool:
        """True when the user holds the permission bit (admins hold every bit)."""
        return self.is_admin or self.permissions & permission == permission

    def require(self, permission: int) -> None:
        """Raises PermissionDenied unless the user holds the permission bit."""
        if not self.can(permission):
            raise PermissionDenied("You do not have permission to do this in this project")

    @property
    def can_run_tasks(self) -> bool:
        return self.can(RUN_TASKS)

    @property
    def can_manage_resources(self) -> bool:
        return self.can(MANAGE_RESOURCES)

    @property
    def can_update_project(self) -> bool:
        return self.can(UPDATE_PROJECT)

    @property
    def can_manage_users(self) -> bool:
        return self.can(MANAGE_USERS)


# One round trip for the project and the actor's role in it, built once: it runs on every
# project request, and building a statement costs more than running this one.
_PROJECT_AND_ROLE = (
    select(Project, ProjectUser.role)
    .outerjoin(
        ProjectUser,
        (ProjectUser.project_id == Project.id) & (ProjectUser.user_id == bindparam("user_id")),
    )
    .where(Project.id == bindparam("project_id"))
)


def project_access(actor: User | None, project_id: int) -> ProjectAccess:
    """The actor's access to a project.

    Raises:
        NotFound: no such project, or the actor is neither a member nor an admin.
    """
    if actor is None:
        project = db.session.get(Project, project_id)
        if project is None:
            raise NotFound("Project not found")
        return ProjectAccess(project, None, "")
    # A project route's sign-in has usually read this row already (auth/prefetch.py).
    found = prefetch.take(actor, project_id)
    if found is None:
        found = db.session.execute(
            _PROJECT_AND_ROLE, {"project_id": project_id, "user_id": actor.id}
        ).first()
    project, role = found if found is not None else (None, None)
    if project is None:
        raise NotFound("Project not found")
    if role is None and not actor.admin:
        raise NotFound("Project not found")
    return ProjectAccess(project, actor, role or "")
