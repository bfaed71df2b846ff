"""The current user, API tokens, and user management: /api/user, /api/user/tokens, /api/users."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api import schemas
from semaphore.api.blueprint import api_blueprint
from semaphore.api.request_body import json_body, json_object
from semaphore.identity import current_session_id
from semaphore.services import users
from semaphore.services.auth import login as auth


@api_blueprint.get("/user")
def current() -> Response:
    body = schemas.user(current_user)
    body["can_create_project"] = users.can_create_project(current_user)
    return jsonify(body)


@api_blueprint.get("/user/tokens")
def list_tokens() -> Response:
    return jsonify([schemas.api_token(t) for t in auth.list_tokens(current_user)])


@api_blueprint.post("/user/tokens")
def create_token() -> tuple[Response, int]:
    token, raw = auth.create_token(current_user, json_body(required=False))
    return jsonify(schemas.api_token(token, raw)), 201


@api_blueprint.delete("/user/tokens/<token_id>")
def expire_token(token_id: str) -> tuple[str, int]:
    auth.expire_token(current_user, token_id)
    return "", 204


@api_blueprint.get("/users")
def list_users() -> Response:
    shape = schemas.user if current_user.admin else schemas.user_minimal
    return jsonify([shape(u) for u in users.list_users(current_user)])


@api_blueprint.post("/users")
def create_user() -> tuple[Response, int]:
    user = users.create_user(current_user, json_object())
    return jsonify(schemas.user(user)), 201


@api_blueprint.get("/users/<int:user_id>")
def get_user(user_id: int) -> Response:
    return jsonify(schemas.user(users.get_user(current_user, user_id)))


@api_blueprint.put("/users/<int:user_id>")
def update_user(user_id: int) -> tuple[str, int]:
    users.update_user(current_user, user_id, json_object(), current_session_id())
    return "", 204


@api_blueprint.delete("/users/<int:user_id>")
def delete_user(user_id: int) -> tuple[str, int]:
    users.delete_user(current_user, user_id)
    return "", 204


@api_blueprint.post("/users/<int:user_id>/password")
def set_password(user_id: int) -> tuple[str, int]:
    users.set_password(current_user, user_id, json_object(), current_session_id())
    return "", 204
