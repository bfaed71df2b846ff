"""Inventories: /api/project/{id}/inventory."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.models import Inventory
from semaphore.services import inventories


def inventory_shape(row: Inventory) -> dict[str, Any]:
    """An inventory as the original shows it (holder_id included, read-only)."""
    return {
        "id": row.id,
        "name": row.name,
        "project_id": row.project_id,
        "inventory": row.inventory,
        "ssh_key_id": row.ssh_key_id,
        "become_key_id": row.become_key_id,
        "repository_id": row.repository_id,
        "type": row.type,
        "holder_id": row.holder_id,
    }


@api_blueprint.get("/project/<int:project_id>/inventory")
def list_inventories(project_id: int) -> Response:
    rows = inventories.list_inventories(access(project_id), *sort_args())
    return jsonify([inventory_shape(row) for row in rows])


@api_blueprint.post("/project/<int:project_id>/inventory")
def create_inventory(project_id: int) -> tuple[Response, int]:
    row = inventories.create_inventory(access(project_id), json_object())
    return jsonify(inventory_shape(row)), 201


@api_blueprint.get("/project/<int:project_id>/inventory/<int:inventory_id>")
def get_inventory(project_id: int, inventory_id: int) -> Response:
    return jsonify(inventory_shape(inventories.get_inventory(access(project_id), inventory_id)))


@api_blueprint.get("/project/<int:project_id>/inventory/<int:inventory_id>/refs")
def inventory_refs(project_id: int, inventory_id: int) -> Response:
    return jsonify(inventories.inventory_refs(access(project_id), inventory_id))


@api_blueprint.put("/project/<int:project_id>/inventory/<int:inventory_id>")
def update_inventory(project_id: int, inventory_id: int) -> tuple[str, int]:
    inventories.update_inventory(access(project_id), inventory_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/inventory/<int:inventory_id>")
def delete_inventory(project_id: int, inventory_id: int) -> tuple[str, int]:
    inventories.delete_inventory(access(project_id), inventory_id)
    return "", 204
