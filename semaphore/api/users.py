"""The current user, API tokens, and user management: /api/user, /api/user/tokens, /api/users."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.api.request_body import json_body, json_object
from semaphore.identity import current_session_id
from semaphore.schemas.listing import PageQuery
from semaphore.schemas.users import (
    APITokenList,
    APITokenOut,
    CurrentUserOut,
    TokenIn,
    UserIn,
    UserList,
    UserMinimalList,
    UserOut,
    UserPasswordIn,
    UserUpdateIn,
)
from semaphore.services import users
from semaphore.services.auth import api_tokens

TAGS = ("user",)


@api_blueprint.get("/user")
@documented(answers={200: CurrentUserOut}, tags=TAGS)
def current() -> Response:
    return jsonify(CurrentUserOut.of(current_user, users.can_create_project(current_user)))


@api_blueprint.get("/user/tokens")
@documented(answers={200: APITokenList}, tags=TAGS)
def list_tokens() -> Response:
    tokens = api_tokens.list_tokens(current_user)
    return jsonify([APITokenOut.of(token, api_tokens.token_expired(token)) for token in tokens])


@api_blueprint.post("/user/tokens")
@documented(body=TokenIn, answers={201: APITokenOut}, tags=TAGS)
def create_token() -> tuple[Response, int]:
    token, raw = api_tokens.create_token(current_user, json_body(required=False))
    # The only answer that holds the whole token.
    return jsonify(APITokenOut.of(token, api_tokens.token_expired(token), raw)), 201


@api_blueprint.delete("/user/tokens/<token_id>")
@documented(answers={204: None}, tags=TAGS)
def expire_token(token_id: str) -> tuple[str, int]:
    api_tokens.expire_token(current_user, token_id)
    return "", 204


@api_blueprint.get("/users")
@documented(query=PageQuery, answers={200: UserList}, tags=TAGS)
def list_users() -> Response:
    page = page_args()
    rows = users.list_users(current_user, page=page)
    # Non-admins see only the id, username and name of the others.
    shown = UserList if current_user.admin else UserMinimalList
    return paged(jsonify(shown.dump(rows)), page, rows.total)


@api_blueprint.post("/users")
@documented(body=UserIn, answers={201: UserOut}, tags=TAGS)
def create_user() -> tuple[Response, int]:
    user = users.create_user(current_user, json_object())
    return jsonify(UserOut.dump(user)), 201


@api_blueprint.get("/users/<int:user_id>")
@documented(answers={200: UserOut}, tags=TAGS)
def get_user(user_id: int) -> Response:
    return jsonify(UserOut.dump(users.get_user(current_user, user_id)))


@api_blueprint.put("/users/<int:user_id>")
@documented(body=UserUpdateIn, answers={204: None}, tags=TAGS)
def update_user(user_id: int) -> tuple[str, int]:
    users.update_user(current_user, user_id, json_object(), current_session_id())
    return "", 204


@api_blueprint.delete("/users/<int:user_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_user(user_id: int) -> tuple[str, int]:
    users.delete_user(current_user, user_id)
    return "", 204


@api_blueprint.post("/users/<int:user_id>/password")
@documented(body=UserPasswordIn, answers={204: None}, tags=TAGS)
def set_password(user_id: int) -> tuple[str, int]:
    users.set_password(current_user, user_id, json_object(), current_session_id())
    return "", 204
