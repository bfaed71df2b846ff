"""The inventory pages: list, add, edit, remove."""

from __future__ import annotations

from flask import Response, url_for
from flask_login import login_required

from semaphore.services import inventories, keys, repositories
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import INVENTORY_TYPES, InventoryForm
from semaphore.web.htmx import render
from semaphore.web.project_resources import (
    choices,
    delete_and_return,
    edit_form,
    form_page,
    id_or_none,
    project_scope,
    submit_form,
)

TYPE_TITLES = dict(INVENTORY_TYPES)


@web_blueprint.get("/project/<int:project_id>/inventory")
@login_required
def inventories_index(project_id: int) -> Response:
    access = project_scope(project_id)
    return render(
        "projects/inventories/index.html",
        access=access,
        inventories=inventories.list_inventories(access),
        key_names={key.id: key.name for key in keys.list_keys(access)},
        type_titles=TYPE_TITLES,
    )


@web_blueprint.route("/project/<int:project_id>/inventory/new", methods=["GET", "POST"])
@login_required
def inventories_new(project_id: int) -> Response:
    access = project_scope(project_id)
    form = InventoryForm()
    done = submit_form(
        form,
        lambda: inventories.create_inventory(access, _data(form)),
        lambda inventory: f"Inventory {inventory.name} added",
        _index_url(project_id),
    )
    return done or _page(access, form, None)


@web_blueprint.route(
    "/project/<int:project_id>/inventory/<int:inventory_id>/edit", methods=["GET", "POST"]
)
@login_required
def inventories_edit(project_id: int, inventory_id: int) -> Response:
    access = project_scope(project_id)
    inventory = inventories.get_inventory(access, inventory_id)
    form = edit_form(
        InventoryForm,
        {
            "name": inventory.name,
            "type": inventory.type,
            "inventory": inventory.inventory,
            "repository_id": _option(inventory.repository_id),
            "ssh_key_id": _option(inventory.ssh_key_id),
            "become_key_id": _option(inventory.become_key_id),
        },
    )
    done = submit_form(
        form,
        lambda: inventories.update_inventory(access, inventory_id, _data(form)),
        lambda saved: f"Inventory {saved.name} saved",
        _index_url(project_id),
    )
    return done or _page(access, form, inventory)


@web_blueprint.delete("/project/<int:project_id>/inventory/<int:inventory_id>")
@login_required
def inventories_delete(project_id: int, inventory_id: int) -> Response:
    access = project_scope(project_id)
    inventory = inventories.get_inventory(access, inventory_id)
    return delete_and_return(
        lambda: inventories.delete_inventory(access, inventory_id),
        f"Inventory {inventory.name} removed",
        _index_url(project_id),
    )


def _index_url(project_id: int) -> str:
    return url_for("web.inventories_index", project_id=project_id)


def _option(object_id: int | None) -> str:
    return str(object_id) if object_id else ""


def _data(form: InventoryForm) -> dict:
    return {
        "name": form.name.data,
        "type": form.type.data,
        "inventory": form.inventory.data,
        "repository_id": id_or_none(form.repository_id.data),
        "ssh_key_id": id_or_none(form.ssh_key_id.data),
        "become_key_id": id_or_none(form.become_key_id.data),
    }


def _page(access: ProjectAccess, form: InventoryForm, inventory) -> Response:
    project_keys = keys.list_keys(access)
    form.ssh_key_id.choices = choices(project_keys, lambda key: key.name, "No key")
    form.become_key_id.choices = choices(project_keys, lambda key: key.name, "No key")
    form.repository_id.choices = choices(
        repositories.list_repositories(access), lambda repo: repo.name, "The template's repository"
    )
    return form_page(
        access,
        MANAGE_RESOURCES,
        "projects/resource_form.html",
        form,
        page_title=f"Edit inventory {inventory.name}" if inventory else "New inventory",
        submit_label="Save" if inventory else "Add inventory",
        form_id="inventory-form",
        cancel_url=_index_url(access.project_id),
    )
