"""Access keys: /api/project/{id}/keys. Secrets go in, never out."""

from __future__ import annotations

from flask import Response, jsonify, request

from semaphore.api.blueprint import api_blueprint
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.models import AccessKey
from semaphore.services import keys


def key_shape(row: AccessKey, *, in_list: bool = False) -> dict:
    """A key with empty secret fields, as the original shows them."""
    body = {
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "project_id": row.project_id,
        "ssh": {"login": "", "passphrase": "", "private_key": ""},
        "login_password": {"login": "", "password": ""},
        "override_secret": False,
    }
    if in_list and keys.is_empty(row):
        body["empty"] = True
    return body


@api_blueprint.get("/project/<int:project_id>/keys")
def list_keys(project_id: int) -> Response:
    rows = keys.list_keys(access(project_id), *sort_args(), key_type=request.args.get("type"))
    return jsonify([key_shape(row, in_list=True) for row in rows])


@api_blueprint.post("/project/<int:project_id>/keys")
def create_key(project_id: int) -> tuple[Response, int]:
    return jsonify(key_shape(keys.create_key(access(project_id), json_object()))), 201


@api_blueprint.get("/project/<int:project_id>/keys/<int:key_id>")
def get_key(project_id: int, key_id: int) -> Response:
    return jsonify(key_shape(keys.get_key(access(project_id), key_id)))


@api_blueprint.get("/project/<int:project_id>/keys/<int:key_id>/refs")
def key_refs(project_id: int, key_id: int) -> Response:
    return jsonify(keys.key_refs(access(project_id), key_id))


@api_blueprint.put("/project/<int:project_id>/keys/<int:key_id>")
def update_key(project_id: int, key_id: int) -> tuple[str, int]:
    keys.update_key(access(project_id), key_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/keys/<int:key_id>")
def delete_key(project_id: int, key_id: int) -> tuple[str, int]:
    keys.delete_key(access(project_id), key_id)
    return "", 204
