"""Options: /api/options (admins) and /api/user/options (each user's own)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.request_body import json_body
from semaphore.schemas.options import OptionIn, OptionMap, OptionOut, UserOptionIn
from semaphore.services import options

TAGS = ("user",)


@api_blueprint.get("/options")
@documented(answers={200: OptionMap}, tags=("options",), addition=True)
def list_options() -> Response:
    return jsonify(options.list_options(current_user))


@api_blueprint.post("/options")
@documented(body=OptionIn, answers={200: OptionOut}, tags=("options",), addition=True)
def set_option() -> Response:
    return jsonify(OptionOut.dump(options.set_option(current_user, json_body())))


@api_blueprint.get("/user/options")
@documented(answers={200: OptionMap}, tags=TAGS)
def list_user_options() -> Response:
    return jsonify(options.list_user_options(current_user))


@api_blueprint.post("/user/options")
@documented(body=UserOptionIn, answers={200: OptionOut}, tags=TAGS)
def set_user_option() -> Response:
    return jsonify(OptionOut.dump(options.set_user_option(current_user, json_body())))
