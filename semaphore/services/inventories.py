"""Inventories: static INI or YAML text, a file path in a checkout, or a Terraform workspace.

What `inventory` may hold for each type is the schema's (schemas/inventories.py); whether the
keys and the repository belong to the project is checked here. `holder_id` marks the inventory
a terraform template made for itself; the API never sets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Inventory, Repository, Template
from semaphore.schemas.base import parse
from semaphore.schemas.choices import TERRAFORM_APPS
from semaphore.schemas.inventories import InventoryIn
from semaphore.schemas.listing import Page
from semaphore.services import events, listing
from semaphore.services import validation as v
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import (
    check_body_ids,
    get_in_project,
    key_reference,
    reference,
    referrers,
    refuse_if_used,
)

SORTS = {"name": Inventory.name, "type": Inventory.type}


def _fields(access: ProjectAccess, data: Mapping[str, Any]) -> dict[str, Any]:
    """Every column a request sets, validated before anything is written (never holder_id)."""
    body = parse(InventoryIn, data)
    return {
        "name": body.name,
        "type": body.type,
        "inventory": body.inventory,
        "ssh_key_id": key_reference(access, data, "ssh_key_id"),
        "become_key_id": key_reference(access, data, "become_key_id"),
        "repository_id": reference(
            data, "repository_id", Repository, access.project_id, "Repository"
        ),
    }


def list_inventories(
    access: ProjectAccess,
    sort: str | None = None,
    order: str | None = None,
    *,
    page: Page | None = None,
) -> listing.Rows[Inventory]:
    """The project's inventories, sorted by name (or type)."""
    query = select(Inventory).where(Inventory.project_id == access.project_id)
    query = listing.sorted_query(query, SORTS, sort, order, "name", Inventory.id)
    return listing.rows(query, page)


# The inventory types each kind of app reads: ansible hosts, or a Terraform workspace.
WORKSPACE_TYPES = ("terraform-workspace",)


def usable_by(rows: Iterable[Inventory], app: str) -> list[Inventory]:
    """Those of the inventories a template of `app` can run with (a run dialog's choice)."""
    workspaces = app in TERRAFORM_APPS
    return [inventory for inventory in rows if (inventory.type in WORKSPACE_TYPES) == workspaces]


def get_inventory(access: ProjectAccess, inventory_id: int) -> Inventory:
    """The project's inventory.

    Raises:
        NotFound: no such inventory in this project.
    """
    return get_in_project(Inventory, inventory_id, access.project_id, "Inventory")


def create_inventory(access: ProjectAccess, data: Mapping[str, Any]) -> Inventory:
    """A new inventory (managers, owners, admins).

    Raises:
        PermissionDenied, ValidationError.
    """
    access.require(MANAGE_RESOURCES)
    v.require_mapping(data)
    check_body_ids(access, data, "Inventory", None)
    inventory = Inventory(project_id=access.project_id, **_fields(access, data))
    db.session.add(inventory)
    db.session.flush()
    events.record(access, "inventory", inventory.id, f"Inventory {inventory.name} created")
    db.session.commit()
    return inventory


def update_inventory(
    access: ProjectAccess, inventory_id: int, data: Mapping[str, Any]
) -> Inventory:
    """Replace an inventory's fields; its holder stays as it was.

    Raises:
        PermissionDenied, NotFound, ValidationError.
    """
    access.require(MANAGE_RESOURCES)
    inventory = get_inventory(access, inventory_id)
    v.require_mapping(data)
    check_body_ids(access, data, "Inventory", inventory_id)
    for field, value in _fields(access, data).items():
        setattr(inventory, field, value)
    events.record(access, "inventory", inventory.id, f"Inventory {inventory.name} updated")
    db.session.commit()
    return inventory


def inventory_refs(access: ProjectAccess, inventory_id: int) -> dict[str, list[dict]]:
    """What uses the inventory: templates.

    Raises:
        NotFound: no such inventory in this project.
    """
    get_inventory(access, inventory_id)
    return referrers(
        templates=select(Template.id, Template.name).where(Template.inventory_id == inventory_id)
    )


def delete_inventory(access: ProjectAccess, inventory_id: int) -> None:
    """Remove an inventory that no template uses (tasks that ran with it keep their history).

    Raises:
        PermissionDenied, NotFound, InUse.
    """
    access.require(MANAGE_RESOURCES)
    inventory = get_inventory(access, inventory_id)
    refuse_if_used("Inventory", inventory_refs(access, inventory_id))
    name = inventory.name
    db.session.delete(inventory)
    events.record(access, "inventory", inventory_id, f"Inventory {name} deleted")
    db.session.commit()
