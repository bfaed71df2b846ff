"""Logging in and out: /api/auth/login and /api/auth/logout."""

from __future__ import annotations

from flask import Response, jsonify

from semaphore.api import api_blueprint, public
from semaphore.api.request_body import json_object
from semaphore.identity import client_ip, sign_in, sign_out
from semaphore.services import auth, system


@api_blueprint.get("/auth/login")
@public
def login_metadata() -> Response:
    return jsonify(system.login_metadata())


@api_blueprint.post("/auth/login")
@public
def login() -> tuple[str, int]:
    body = json_object()
    user = auth.authenticate(body.get("auth"), body.get("password"), client_ip())
    sign_in(user)
    return "", 204


@api_blueprint.post("/auth/logout")
@public
def logout() -> tuple[str, int]:
    sign_out()
    return "", 204
