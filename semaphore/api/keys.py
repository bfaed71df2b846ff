"""Access keys: /api/project/{id}/keys. Secrets go in, never out."""

from __future__ import annotations

from flask import Response, jsonify, request

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.schemas.keys import KeyIn, KeyList, KeyListItem, KeyOut, KeyUpdateIn
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.references import Referrers
from semaphore.services import keys

TAGS = ("key-store",)


@api_blueprint.get("/project/<int:project_id>/keys")
@documented(query=PageQuery, answers={200: KeyList}, tags=TAGS)
def list_keys(project_id: int) -> Response:
    scope, page, key_type = access(project_id), page_args(), request.args.get("type")
    rows = keys.list_keys(scope, *sort_args(), key_type=key_type, page=page)
    shown = KeyList.dump(KeyListItem.of(row, empty=keys.is_empty(row)) for row in rows)
    return paged(jsonify(shown), page, rows.total)


@api_blueprint.post("/project/<int:project_id>/keys")
@documented(body=KeyIn, answers={201: KeyOut}, tags=TAGS)
def create_key(project_id: int) -> tuple[Response, int]:
    return jsonify(KeyOut.dump(keys.create_key(access(project_id), json_object()))), 201


@api_blueprint.get("/project/<int:project_id>/keys/<int:key_id>")
@documented(answers={200: KeyOut}, tags=TAGS, addition=True)
def get_key(project_id: int, key_id: int) -> Response:
    return jsonify(KeyOut.dump(keys.get_key(access(project_id), key_id)))


@api_blueprint.get("/project/<int:project_id>/keys/<int:key_id>/refs")
@documented(answers={200: Referrers}, tags=TAGS, addition=True)
def key_refs(project_id: int, key_id: int) -> Response:
    return jsonify(keys.key_refs(access(project_id), key_id))


@api_blueprint.put("/project/<int:project_id>/keys/<int:key_id>")
@documented(body=KeyUpdateIn, answers={204: None}, tags=TAGS)
def update_key(project_id: int, key_id: int) -> tuple[str, int]:
    keys.update_key(access(project_id), key_id, json_object())
    return "", 204


@api_blueprint.delete("/project/<int:project_id>/keys/<int:key_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_key(project_id: int, key_id: int) -> tuple[str, int]:
    keys.delete_key(access(project_id), key_id)
    return "", 204
