"""Looking up a project's objects, and checking that references stay inside the project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import func, select

from semaphore.errors import InUse, NotFound, ValidationError
from semaphore.extensions import db
from semaphore.models import AccessKey
from semaphore.services import validation as v
from semaphore.services.permissions import ProjectAccess

ModelT = TypeVar("ModelT")


def get_in_project(model: type[ModelT], object_id: int, project_id: int, label: str) -> ModelT:
    """The project's object with this id.

    Raises:
        NotFound: it does not exist, or belongs to another project.
    """
    row = db.session.get(model, object_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"{label} not found")
    return row


def reference(
    data: Mapping[str, Any],
    field: str,
    model: type[ModelT],
    project_id: int,
    label: str,
    *,
    required: bool = False,
) -> int | None:
    """The id in `field`, which must name an object of this project (0 or null means none).

    Raises:
        ValidationError: the id is missing when required, not an integer, or not in the project.
    """
    object_id = v.integer(data, field)
    if not object_id:
        if required:
            raise ValidationError(f"{field} is required", field)
        return None
    row = db.session.get(model, object_id)
    if row is None or row.project_id != project_id:
        raise ValidationError(f"{label} {object_id} does not exist in this project", field)
    return object_id


def refuse_if_used(label: str, *counts: Any) -> None:
    """Raise the original's in-use error when any count query finds rows."""
    for query in counts:
        if db.session.scalar(select(func.count()).select_from(query.subquery())):
            raise InUse(f"{label} is in use by one or more templates")


def check_body_ids(
    access: ProjectAccess, data: Mapping[str, Any], label: str, object_id: int | None
) -> None:
    """Refuse a body whose project_id (or id, on update) differs from the URL, as the original.

    Raises:
        ValidationError: "<label> ID in body and URL must be the same" (or the project's).
    """
    project_id = v.integer(data, "project_id")
    if project_id and project_id != access.project_id:
        raise ValidationError("Project ID in body and URL must be the same", "project_id")
    body_id = v.integer(data, "id")
    if object_id is not None and body_id and body_id != object_id:
        raise ValidationError(f"{label} ID in body and URL must be the same", "id")


def key_reference(
    access: ProjectAccess, data: Mapping[str, Any], field: str, *, required: bool = False
) -> int | None:
    """An access key id of this project that is not one of an environment's secrets.

    Raises:
        ValidationError: missing when required, not an integer, or not a usable key here.
    """
    key_id = reference(data, field, AccessKey, access.project_id, "Access key", required=required)
    if key_id is not None and db.session.get(AccessKey, key_id).environment_id is not None:
        raise ValidationError(f"Access key {key_id} belongs to an environment", field)
    return key_id
