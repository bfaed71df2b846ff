"""Apps: /api/apps (any signed-in user) and /api/apps/{app_id}… (admins)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.request_body import json_body
from semaphore.schemas.options import AppActiveIn, AppIn, AppList, AppOut
from semaphore.services import apps

TAGS = ("apps",)


@api_blueprint.get("/apps")
@documented(answers={200: AppList}, tags=TAGS)
def list_apps() -> Response:
    return jsonify(AppList.dump(apps.list_apps()))


@api_blueprint.get("/apps/<app_id>")
@documented(answers={200: AppOut}, tags=TAGS, addition=True)
def get_app(app_id: str) -> Response:
    return jsonify(AppOut.dump(apps.get_app(current_user, app_id)))


@api_blueprint.route("/apps/<app_id>", methods=["PUT", "POST"])
@documented(body=AppIn, answers={204: None}, tags=TAGS, addition=True)
def update_app(app_id: str) -> tuple[str, int]:
    apps.update_app(current_user, app_id, json_body())
    return "", 204


@api_blueprint.post("/apps/<app_id>/active")
@documented(body=AppActiveIn, answers={204: None}, tags=TAGS, addition=True)
def set_app_active(app_id: str) -> tuple[str, int]:
    apps.set_app_active(current_user, app_id, json_body())
    return "", 204


@api_blueprint.delete("/apps/<app_id>")
@documented(answers={204: None}, tags=TAGS, addition=True)
def delete_app(app_id: str) -> tuple[str, int]:
    apps.delete_app(current_user, app_id)
    return "", 204
