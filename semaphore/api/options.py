"""Options: /api/options (admins) and /api/user/options (each user's own)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.request_body import json_body
from semaphore.services import options


@api_blueprint.get("/options")
def list_options() -> Response:
    return jsonify(options.list_options(current_user))


@api_blueprint.post("/options")
def set_option() -> Response:
    return jsonify(options.set_option(current_user, json_body()))


@api_blueprint.get("/user/options")
def list_user_options() -> Response:
    return jsonify(options.list_user_options(current_user))


@api_blueprint.post("/user/options")
def set_user_option() -> Response:
    return jsonify(options.set_user_option(current_user, json_body()))
