"""Logging in and out: /api/auth/login, the second factor (/verify, /recovery), /logout."""

from __future__ import annotations

from flask import Response, jsonify

from semaphore.api.blueprint import api_blueprint, public
from semaphore.api.openapi import documented
from semaphore.api.request_body import json_object
from semaphore.identity import (
    client_ip,
    current_session_id,
    second_factor_accepted,
    sign_in,
    sign_out,
)
from semaphore.schemas.auth import LoginIn, LoginMetadataOut, PasscodeIn, RecoveryCodeIn
from semaphore.services import system
from semaphore.services.auth import login as auth

TAGS = ("authentication",)


@api_blueprint.get("/auth/login")
@documented(answers={200: LoginMetadataOut}, tags=TAGS)
@public
def login_metadata() -> Response:
    return jsonify(LoginMetadataOut.dump(system.login_metadata()))


@api_blueprint.post("/auth/login")
@documented(body=LoginIn, answers={204: None}, tags=TAGS)
@public
def login() -> tuple[str, int]:
    body = json_object()
    user = auth.authenticate(body.get("auth"), body.get("password"), client_ip())
    sign_in(user)
    return "", 204


@api_blueprint.post("/auth/verify")
@documented(body=PasscodeIn, answers={204: None}, tags=TAGS, addition=True)
@public
def verify() -> tuple[str, int]:
    """Second step of a password login for a user with TOTP: `{"passcode": "123456"}`."""
    body = json_object()
    auth.verify_session(current_session_id(), body.get("passcode"), client_ip())
    second_factor_accepted()
    return "", 204


@api_blueprint.post("/auth/recovery")
@documented(body=RecoveryCodeIn, answers={204: None}, tags=TAGS, addition=True)
@public
def recover() -> tuple[str, int]:
    """Second step with a single-use recovery code instead: `{"recovery_code": "..."}`."""
    body = json_object()
    auth.recover_session(current_session_id(), body.get("recovery_code"), client_ip())
    second_factor_accepted()
    return "", 204


@api_blueprint.post("/auth/logout")
@documented(answers={204: None}, tags=TAGS)
@public
def logout() -> tuple[str, int]:
    sign_out()
    return "", 204
