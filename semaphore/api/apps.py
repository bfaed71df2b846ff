"""Apps: /api/apps (any signed-in user) and /api/apps/{app_id}… (admins)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.request_body import json_body
from semaphore.services import apps


@api_blueprint.get("/apps")
def list_apps() -> Response:
    return jsonify(apps.list_apps())


@api_blueprint.get("/apps/<app_id>")
def get_app(app_id: str) -> Response:
    return jsonify(apps.get_app(current_user, app_id))


@api_blueprint.route("/apps/<app_id>", methods=["PUT", "POST"])
def update_app(app_id: str) -> tuple[str, int]:
    apps.update_app(current_user, app_id, json_body())
    return "", 204


@api_blueprint.post("/apps/<app_id>/active")
def set_app_active(app_id: str) -> tuple[str, int]:
    apps.set_app_active(current_user, app_id, json_body())
    return "", 204


@api_blueprint.delete("/apps/<app_id>")
def delete_app(app_id: str) -> tuple[str, int]:
    apps.delete_app(current_user, app_id)
    return "", 204
