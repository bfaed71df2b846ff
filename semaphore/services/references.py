"""Looking up a project's objects, and checking that references stay inside the project."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Select

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
    row = referenced(data, field, model, project_id, label, required=required)
    return row.id if row is not None else None


def referenced(
    data: Mapping[str, Any],
    field: str,
    model: type[ModelT],
    project_id: int,
    label: str,
    *,
    required: bool = False,
) -> ModelT | None:
    """The object of this project that the id in `field` names (0 or null means none), for a
    caller that uses it: the session holds it weakly, so asking again by id once `reference`
    has dropped it reads it again.

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
    return row


# The kinds of object that can use another, as the original's refs answers name them.
REFERRER_KINDS = ("templates", "inventories", "repositories", "integrations", "schedules")
_SINGULAR = {
    "templates": "template",
    "inventories": "inventory",
    "repositories": "repository",
    "integrations": "integration",
    "schedules": "schedule",
}


def referrers(**queries: Select) -> dict[str, list[dict[str, Any]]]:
    """What uses an object, by kind: each query selects (id, name) of one kind of user.

    Every kind of REFERRER_KINDS is in the answer (an empty list when none), each list by name.
    """
    found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in REFERRER_KINDS}
    for kind, query in queries.items():
        seen: set[int] = set()
        for object_id, name in db.session.execute(query):
            if object_id not in seen:
                seen.add(object_id)
                found[kind].append({"id": object_id, "name": name or ""})
        found[kind].sort(key=lambda item: (item["name"].lower(), item["id"]))
    return found


def referrers_of(
    object_ids: Iterable[int], **queries: Select
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """What uses each of several objects, by object and kind, in one query per kind (a list
    page's "in use" column): each query selects (id, name, *columns holding a used id) of one
    kind of user; a row counts for every listed object one of those columns names.

    Each object's answer has the shape of `referrers`'s.
    """
    wanted = set(object_ids)
    found = {object_id: {kind: [] for kind in REFERRER_KINDS} for object_id in wanted}
    for kind, query in queries.items():
        seen: set[tuple[int, int]] = set()
        for user_id, name, *used in db.session.execute(query):
            for object_id in set(used) & wanted:
                if (object_id, user_id) not in seen:
                    seen.add((object_id, user_id))
                    found[object_id][kind].append({"id": user_id, "name": name or ""})
    for refs in found.values():
        for users in refs.values():
            users.sort(key=lambda item: (item["name"].lower(), item["id"]))
    return found


def users_of(refs: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The users in `refs` as one list of {kind (singular), id, name}, kind by kind."""
    return [
        {"kind": _SINGULAR[kind], "id": item["id"], "name": item["name"]}
        for kind in REFERRER_KINDS
        for item in refs.get(kind, [])
    ]


def refuse_if_used(label: str, refs: Mapping[str, list[dict[str, Any]]]) -> None:
    """Raise InUse, naming every object that still uses it, when `refs` lists any.

    Raises:
        InUse: 400 with `inUse: true` (the original's) and `used_by: [{kind, id, name}]`.
    """
    used_by = users_of(refs)
    if not used_by:
        return
    shown = [f"{item['kind']} '{item['name']}'" for item in used_by[:5]]
    if len(used_by) > 5:
        shown.append(f"{len(used_by) - 5} more")
    raise InUse(f"{label} is in use by {_join(shown)}", used_by)


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


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
