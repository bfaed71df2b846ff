"""Git repositories that templates, schedules and file inventories take their files from.

A URL starting with '/' is a local directory used in place, so it needs no branch; it must lie
under one of the directories the admin lists in local_repository_roots (none by default), or
a project manager could point a template at any directory of the server. The engine checks
again at run time, symlinks resolved, in case the setting changed. URLs and branches reach
`git` on a command line, so anything that could read as an option is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from semaphore.config import current_config
from semaphore.errors import ValidationError
from semaphore.extensions import db
from semaphore.models import AccessKey, Inventory, Repository, Schedule, Template
from semaphore.schemas.base import parse
from semaphore.schemas.listing import Page
from semaphore.schemas.repositories import RepositoryIn, is_local
from semaphore.services import events, listing
from semaphore.services import validation as v
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import (
    check_body_ids,
    get_in_project,
    key_reference,
    referrers,
    refuse_if_used,
)

SORTS = {"name": Repository.name, "git_url": Repository.git_url, "ssh_key": AccessKey.name}


def check_local_path(git_url: str) -> None:
    """Refuse a local repository outside the configured local_repository_roots.

    Raises:
        ValidationError: no configured root holds the path.
    """
    roots = current_config().local_repository_roots
    path = os.path.normpath(git_url)
    if any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots):
        return
    where = ", ".join(roots) if roots else "none are configured"
    raise ValidationError(
        "git_url: a local repository path must be under one of the directories in the "
        f"server's local_repository_roots ({where})",
        "git_url",
    )


def _fields(access: ProjectAccess, data: Mapping[str, Any]) -> dict[str, Any]:
    """Every column a request sets, validated before anything is written."""
    body = parse(RepositoryIn, data)
    if is_local(body.git_url):
        check_local_path(body.git_url)
    return {
        "name": body.name,
        "git_url": body.git_url,
        "git_branch": body.git_branch,
        "ssh_key_id": key_reference(access, data, "ssh_key_id", required=True),
    }


def list_repositories(
    access: ProjectAccess,
    sort: str | None = None,
    order: str | None = None,
    *,
    page: Page | None = None,
) -> listing.Rows[Repository]:
    """The project's repositories, sorted by name, git_url or the key's name (ssh_key)."""
    query = (
        select(Repository)
        .outerjoin(AccessKey, AccessKey.id == Repository.ssh_key_id)
        .where(Repository.project_id == access.project_id)
    )
    query = listing.sorted_query(query, SORTS, sort, order, "name", Repository.id)
    return listing.rows(query, page)


def get_repository(access: ProjectAccess, repository_id: int) -> Repository:
    """The project's repository.

    Raises:
        NotFound: no such repository in this project.
    """
    return get_in_project(Repository, repository_id, access.project_id, "Repository")


def create_repository(access: ProjectAccess, data: Mapping[str, Any]) -> Repository:
    """A new repository (managers, owners, admins).

    Raises:
        PermissionDenied, ValidationError.
    """
    access.require(MANAGE_RESOURCES)
    v.require_mapping(data)
    check_body_ids(access, data, "Repository", None)
    repository = Repository(project_id=access.project_id, **_fields(access, data))
    db.session.add(repository)
    db.session.flush()
    events.record(access, "repository", repository.id, f"Repository {repository.name} created")
    db.session.commit()
    return repository


def update_repository(
    access: ProjectAccess, repository_id: int, data: Mapping[str, Any]
) -> Repository:
    """Replace a repository's fields.

    Raises:
        PermissionDenied, NotFound, ValidationError.
    """
    access.require(MANAGE_RESOURCES)
    repository = get_repository(access, repository_id)
    v.require_mapping(data)
    check_body_ids(access, data, "Repository", repository_id)
    for field, value in _fields(access, data).items():
        setattr(repository, field, value)
    events.record(access, "repository", repository.id, f"Repository {repository.name} updated")
    db.session.commit()
    return repository


def repository_refs(access: ProjectAccess, repository_id: int) -> dict[str, list[dict]]:
    """What uses the repository: templates, schedules and inventories.

    Raises:
        NotFound: no such repository in this project.
    """
    get_repository(access, repository_id)
    return referrers(
        templates=select(Template.id, Template.name).where(Template.repository_id == repository_id),
        schedules=select(Schedule.id, Schedule.name).where(Schedule.repository_id == repository_id),
        inventories=select(Inventory.id, Inventory.name).where(
            Inventory.repository_id == repository_id
        ),
    )


def delete_repository(access: ProjectAccess, repository_id: int) -> None:
    """Remove a repository that no template, schedule or inventory uses.

    Raises:
        PermissionDenied, NotFound, InUse.
    """
    access.require(MANAGE_RESOURCES)
    repository = get_repository(access, repository_id)
    refuse_if_used("Repository", repository_refs(access, repository_id))
    name = repository.name
    db.session.delete(repository)
    events.record(access, "repository", repository_id, f"Repository {name} deleted")
    db.session.commit()
