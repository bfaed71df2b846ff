"""Projects and their members.

Creating a project makes the creator its owner and adds the original's defaults: a key "None"
and an environment "Empty". Deleting one removes everything in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select, update

from semaphore.errors import Conflict, NotAuthenticated, NotFound, ValidationError
from semaphore.extensions import db
from semaphore.models import (
    AccessKey,
    Environment,
    Event,
    Inventory,
    Project,
    ProjectUser,
    Schedule,
    Task,
    Template,
    TemplateVault,
    User,
)
from semaphore.schemas.base import parse
from semaphore.schemas.listing import Page
from semaphore.schemas.projects import MemberIn, MemberRoleIn, ProjectIn, ProjectUpdateIn
from semaphore.services import audit, events, listing
from semaphore.services.permissions import (
    MANAGE_USERS,
    UPDATE_PROJECT,
    ProjectAccess,
    project_access,
)
from semaphore.services.users import can_create_project


def list_projects(actor: User, *, page: Page | None = None) -> listing.Rows[Project]:
    """Projects the actor belongs to (every project for an admin), by name."""
    query = select(Project).order_by(func.lower(Project.name), Project.id)
    if not actor.admin:
        query = query.join(ProjectUser, ProjectUser.project_id == Project.id).where(
            ProjectUser.user_id == actor.id
        )
    return listing.rows(query, page)


def get_project(actor: User | None, project_id: int) -> ProjectAccess:
    """The project with the actor's access to it (NotFound for non-members)."""
    return project_access(actor, project_id)


def create_project(actor: User, data: Mapping[str, Any], *, defaults: bool = True) -> Project:
    """A new project owned by the actor. As in the original, only name and type are taken.

    Raises:
        NotAuthenticated: the actor may not create projects (the original answers 401).
        ValidationError: the name is missing.
    """
    if not can_create_project(actor):
        raise NotAuthenticated("You are not allowed to create projects")
    body = parse(ProjectIn, data)
    project = Project(name=body.name, type=body.type)
    db.session.add(project)
    db.session.flush()
    db.session.add(ProjectUser(project_id=project.id, user_id=actor.id, role="owner"))
    if defaults:
        db.session.add(AccessKey(name="None", type="none", project_id=project.id))
        db.session.add(Environment(name="Empty", json="{}", project_id=project.id))
    access = ProjectAccess(project, actor, "owner")
    events.record(access, "project", project.id, f"Project {project.name} created")
    db.session.commit()
    return project


def update_project(access: ProjectAccess, data: Mapping[str, Any]) -> Project:
    """Change name, alert, alert_chat, max_parallel_tasks, type and task_retention_days
    (owners and admins)."""
    access.require(UPDATE_PROJECT)
    body = parse(ProjectUpdateIn, data, context={"project_id": access.project_id})
    project = access.project
    project.name = body.name
    project.alert = body.alert
    project.alert_chat = body.alert_chat or None
    project.max_parallel_tasks = body.max_parallel_tasks
    # A type given as null is "" (as before); only an absent one keeps the project's.
    if "type" in data:
        project.type = body.type
    # Ours, so the original's clients never send it: absent keeps the project's.
    if "task_retention_days" in data:
        project.task_retention_days = body.task_retention_days
    events.record(access, "project", project.id, f"Project {project.name} updated")
    db.session.commit()
    return project


def delete_project(access: ProjectAccess) -> None:
    """Remove the project and everything in it, in one transaction."""
    access.require(UPDATE_PROJECT)
    project_id = access.project_id
    # Rows that point at each other without ON DELETE CASCADE go first, in dependency order.
    db.session.execute(
        update(Inventory).where(Inventory.project_id == project_id).values(holder_id=None)
    )
    db.session.execute(
        update(Template).where(Template.project_id == project_id).values(build_template_id=None)
    )
    for model in (Schedule, Task, TemplateVault, Template, Event):
        db.session.execute(delete(model).where(model.project_id == project_id))
    db.session.delete(access.project)
    events.record(
        None, "project", project_id, f"Project {access.project.name} deleted", user=access.user
    )
    db.session.commit()


# Members ------------------------------------------------------------------------------------

MEMBER_SORTS = {
    "name": User.name,
    "username": User.username,
    "email": User.email,
    "role": ProjectUser.role,
}


def list_members(
    access: ProjectAccess,
    sort: str | None = None,
    order: str | None = None,
    *,
    page: Page | None = None,
) -> listing.Rows[tuple[User, str]]:
    """The project's members with their roles."""
    query = (
        select(User, ProjectUser.role)
        .join(ProjectUser, ProjectUser.user_id == User.id)
        .where(ProjectUser.project_id == access.project_id)
    )
    query = listing.sorted_query(query, MEMBER_SORTS, sort, order, "name", User.id)
    return listing.rows(query, page, scalars=False)


def _membership(project_id: int, user_id: int) -> ProjectUser | None:
    return db.session.get(ProjectUser, (project_id, user_id))


def add_member(access: ProjectAccess, data: Mapping[str, Any]) -> ProjectUser:
    """Add a user with a role (owners and admins).

    Raises:
        ValidationError: unknown user or role.
        Conflict: the user is already a member.
    """
    access.require(MANAGE_USERS)
    body = parse(MemberIn, data)
    user_id, role = body.user_id, body.role
    user = db.session.get(User, user_id)
    if user is None:
        raise ValidationError(f"User {user_id} does not exist", "user_id")
    if _membership(access.project_id, user_id) is not None:
        raise Conflict("The user is already a member of this project")
    member = ProjectUser(project_id=access.project_id, user_id=user_id, role=role)
    db.session.add(member)
    events.record(access, "user", user_id, f"User {user.username} added to the project as {role}")
    _audit_member(access, "member_added", user, {"role": role})
    db.session.commit()
    return member


def _existing_member(access: ProjectAccess, user_id: int) -> ProjectUser:
    member = _membership(access.project_id, user_id)
    if member is None:
        raise NotFound("The user is not a member of this project")
    return member


def _owners(project_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(
            ProjectUser.project_id == project_id, ProjectUser.role == "owner"
        )
    )


def change_member_role(access: ProjectAccess, user_id: int, data: Mapping[str, Any]) -> None:
    """Give a member another role. Owners cannot change their own role."""
    access.require(MANAGE_USERS)
    role = parse(MemberRoleIn, data).role
    member = _existing_member(access, user_id)
    if user_id == access.user_id and not access.is_admin:
        raise ValidationError("You cannot change your own role", "role")
    if member.role == "owner" and role != "owner" and _owners(access.project_id) == 1:
        raise ValidationError("A project needs at least one owner", "role")
    previous, member.role = member.role, role
    user = db.session.get(User, user_id)
    events.record(access, "user", user_id, f"User {user.username} is now {role}")
    _audit_member(access, "member_role_changed", user, {"role": role, "previous_role": previous})
    db.session.commit()


def remove_member(access: ProjectAccess, user_id: int) -> None:
    """Remove a member (owners and admins); the last owner stays."""
    access.require(MANAGE_USERS)
    member = _existing_member(access, user_id)
    if member.role == "owner" and _owners(access.project_id) == 1:
        raise ValidationError("The last owner cannot be removed from the project")
    user = db.session.get(User, user_id)
    db.session.delete(member)
    events.record(access, "user", user_id, f"User {user.username} removed from the project")
    _audit_member(access, "member_removed", user, {"role": member.role})
    db.session.commit()


def leave_project(access: ProjectAccess) -> None:
    """The actor leaves the project; owners cannot (they must hand it over first)."""
    member = _membership(access.project_id, access.user_id or 0)
    if member is None:
        raise NotFound("You are not a member of this project")
    if member.role == "owner":
        raise ValidationError("Owners cannot leave their project")
    db.session.delete(member)
    events.record(access, "user", access.user_id, f"User {access.user.username} left the project")
    _audit_member(access, "member_removed", access.user, {"role": member.role, "left": True})
    db.session.commit()


def _audit_member(access: ProjectAccess, kind: str, user: User, details: dict) -> None:
    audit.record(kind, access.user, target=user, project_id=access.project_id, details=details)
