"""Inventories: /api/project/{id}/inventory."""

from __future__ import annotations

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.schemas.inventories import InventoryIn, InventoryList, InventoryOut
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.references import Referrers
from semaphore.services import inventories

TAGS = ("inventory",)


@api_blueprint.get("/project/<int:project_id>/inventory")
@documented(query=PageQuery, answers={200: InventoryList}, tags=TAGS)
def list_inventories(project_id: int) -> Response:
    scope, page = access(project_id), page_args()
    rows = inventories.list_inventories(scope, *sort_args(), page=page)
    return paged(jsonify(InventoryList.dump(rows)), page, rows.total)


@api_blueprint.post("/project/<int:project_id>/inventory")
@documented(body=InventoryIn, answers={201: InventoryOut}, tags=TAGS)
def create_inventory(project_id: int) -> tuple[Response, int]:
    row = inventories.create_inventory(access(project_id), json_object())
    return jsonify(InventoryOut.dump(row)), 201


@api_blueprint.get("/project/<int:project_id>/inventory/<int:inventory_id>")
@documented(answers={200: InventoryOut}, tags=TAGS)
def get_inventory(project_id: int, inventory_id: int) -> Response:
    row = inventories.get_inventory(access(project_id), inventory_id)
    return jsonify(InventoryOut.dump(row))


@api_blueprint.get("/project/<int:project_id>/inventory/<int:inventory_id>/refs")
@documented(answers={200: Referrers}, tags=TAGS, addition=True)
def inventory_refs(project_id: int, inventory_id: int) -> Response:
    return jsonify(inventories.inventory_refs(access(project_id), inventory_id))


@api_blueprint.put("/project/<int:project_id>/inventory/<int:inventory_id>")
@documented(body=InventoryIn, answers={204: None}, tags=TAGS)
def update_inventory(project_id: int, inventory_id: int) -> tuple[str, int]:
    inventories.update_inventory(access(project_id), inventory_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/inventory/<int:inventory_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_inventory(project_id: int, inventory_id: int) -> tuple[str, int]:
    inventories.delete_inventory(access(project_id), inventory_id)
    return "", 204
