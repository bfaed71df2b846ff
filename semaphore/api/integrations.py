"""Integrations: /api/project/{id}/integrations (with matchers, values and aliases), and the
public /api/integrations/{alias} that webhook senders call."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from semaphore.api.blueprint import api_blueprint, public
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.extensions import db
from semaphore.identity import client_ip
from semaphore.models import (
    Integration,
    IntegrationAlias,
    IntegrationExtractValue,
    IntegrationMatcher,
)
from semaphore.services import integrations
from semaphore.services.integrations import hooks as integration_hooks

LIST = "/project/<int:project_id>/integrations"
ONE = LIST + "/<int:integration_id>"


def integration_shape(row: Integration) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "project_id": row.project_id,
        "template_id": row.template_id,
        "auth_method": row.auth_method,
        "auth_secret_id": row.auth_secret_id,
        "auth_header": row.auth_header,
        "searchable": row.searchable,
        "task_params": integrations.task_params(row),
    }


def matcher_shape(row: IntegrationMatcher) -> dict[str, Any]:
    body = {
        "id": row.id,
        "integration_id": row.integration_id,
        "name": row.name,
        "match_type": row.match_type,
        "method": row.method,
        "key": row.key,
        "value": row.value,
    }
    # The contract's enum has no empty value: a header matcher has no body type.
    if row.body_data_type:
        body["body_data_type"] = row.body_data_type
    return body


def value_shape(row: IntegrationExtractValue) -> dict[str, Any]:
    body = {
        "id": row.id,
        "integration_id": row.integration_id,
        "name": row.name,
        "value_source": row.value_source,
        "key": row.key,
        "variable": row.variable,
        "variable_type": row.variable_type or "environment",
    }
    if row.body_data_type:
        body["body_data_type"] = row.body_data_type
    return body


def alias_shape(row: IntegrationAlias) -> dict[str, Any]:
    return {"id": row.id, "url": integrations.alias_url(row.alias)}


# --- integrations -------------------------------------------------------------------------------


@api_blueprint.get(LIST)
def list_integrations(project_id: int) -> Response:
    rows = integrations.list_integrations(access(project_id), *sort_args())
    return jsonify([integration_shape(row) for row in rows])


@api_blueprint.post(LIST)
def create_integration(project_id: int) -> tuple[Response, int]:
    row = integrations.create_integration(access(project_id), json_object())
    return jsonify(integration_shape(row)), 201


@api_blueprint.get(ONE)
def get_integration(project_id: int, integration_id: int) -> Response:
    row = integrations.get_integration(access(project_id), integration_id)
    return jsonify(integration_shape(row))


@api_blueprint.get(ONE + "/refs")
def integration_refs(project_id: int, integration_id: int) -> Response:
    return jsonify(integrations.integration_refs(access(project_id), integration_id))


@api_blueprint.put(ONE)
def update_integration(project_id: int, integration_id: int) -> tuple[str, int]:
    integrations.update_integration(access(project_id), integration_id, json_object())
    return "", 204


@api_blueprint.delete(ONE)
def delete_integration(project_id: int, integration_id: int) -> tuple[str, int]:
    integrations.delete_integration(access(project_id), integration_id)
    return "", 204


# --- matchers -----------------------------------------------------------------------------------


@api_blueprint.get(ONE + "/matchers")
def list_matchers(project_id: int, integration_id: int) -> Response:
    rows = integrations.list_matchers(access(project_id), integration_id)
    return jsonify([matcher_shape(row) for row in rows])


@api_blueprint.post(ONE + "/matchers")
def create_matcher(project_id: int, integration_id: int) -> tuple[Response, int]:
    row = integrations.create_matcher(access(project_id), integration_id, json_object())
    return jsonify(matcher_shape(row)), 200  # the original's status for a new matcher


@api_blueprint.get(ONE + "/matchers/<int:matcher_id>")
def get_matcher(project_id: int, integration_id: int, matcher_id: int) -> Response:
    row = integrations.get_matcher(access(project_id), integration_id, matcher_id)
    return jsonify(matcher_shape(row))


@api_blueprint.get(ONE + "/matchers/<int:matcher_id>/refs")
def matcher_refs(project_id: int, integration_id: int, matcher_id: int) -> Response:
    integrations.get_matcher(access(project_id), integration_id, matcher_id)
    return jsonify({"integrations": []})


@api_blueprint.put(ONE + "/matchers/<int:matcher_id>")
def update_matcher(project_id: int, integration_id: int, matcher_id: int) -> tuple[str, int]:
    integrations.update_matcher(access(project_id), integration_id, matcher_id, json_object())
    return "", 204


@api_blueprint.delete(ONE + "/matchers/<int:matcher_id>")
def delete_matcher(project_id: int, integration_id: int, matcher_id: int) -> tuple[str, int]:
    integrations.delete_matcher(access(project_id), integration_id, matcher_id)
    return "", 204


# --- extracted values ---------------------------------------------------------------------------


@api_blueprint.get(ONE + "/values")
def list_values(project_id: int, integration_id: int) -> Response:
    rows = integrations.list_values(access(project_id), integration_id)
    return jsonify([value_shape(row) for row in rows])


@api_blueprint.post(ONE + "/values")
def create_value(project_id: int, integration_id: int) -> tuple[Response, int]:
    row = integrations.create_value(access(project_id), integration_id, json_object())
    return jsonify(value_shape(row)), 201


@api_blueprint.get(ONE + "/values/<int:value_id>")
def get_value(project_id: int, integration_id: int, value_id: int) -> Response:
    row = integrations.get_value(access(project_id), integration_id, value_id)
    return jsonify(value_shape(row))


@api_blueprint.get(ONE + "/values/<int:value_id>/refs")
def value_refs(project_id: int, integration_id: int, value_id: int) -> Response:
    integrations.get_value(access(project_id), integration_id, value_id)
    return jsonify({"integrations": []})


@api_blueprint.put(ONE + "/values/<int:value_id>")
def update_value(project_id: int, integration_id: int, value_id: int) -> tuple[str, int]:
    integrations.update_value(access(project_id), integration_id, value_id, json_object())
    return "", 204


@api_blueprint.delete(ONE + "/values/<int:value_id>")
def delete_value(project_id: int, integration_id: int, value_id: int) -> tuple[str, int]:
    integrations.delete_value(access(project_id), integration_id, value_id)
    return "", 204


# --- aliases: the project's own, and each integration's ------------------------------------------


@api_blueprint.get(LIST + "/aliases")
@api_blueprint.get(ONE + "/aliases")
def list_aliases(project_id: int, integration_id: int | None = None) -> Response:
    rows = integrations.list_aliases(access(project_id), integration_id)
    return jsonify([alias_shape(row) for row in rows])


@api_blueprint.post(LIST + "/aliases")
@api_blueprint.post(ONE + "/aliases")
def create_alias(project_id: int, integration_id: int | None = None) -> tuple[Response, int]:
    row = integrations.create_alias(access(project_id), integration_id)
    return jsonify(alias_shape(row)), 200  # the original's status for a new alias


@api_blueprint.delete(LIST + "/aliases/<int:alias_id>")
@api_blueprint.delete(ONE + "/aliases/<int:alias_id>")
def delete_alias(project_id: int, alias_id: int, integration_id: int | None = None):
    integrations.delete_alias(access(project_id), alias_id, integration_id)
    return "", 204


# --- the public URL -----------------------------------------------------------------------------


@api_blueprint.route("/integrations/<alias>", methods=["GET", "POST", "OPTIONS"])
@public
def receive_integration(alias: str) -> tuple[str, int]:
    """Always 204 with no body, whatever happened: the sender learns nothing (as the original).
    The delivery log on the integration's page tells the operator what happened."""
    try:
        integration_hooks.receive(alias, _incoming())
    except Exception:  # noqa: BLE001 - never a 500 to a webhook sender; the bug is logged
        db.session.rollback()
        current_app.logger.exception("integration delivery failed")
    return "", 204


def _incoming() -> integration_hooks.Incoming:
    """The request, with its body read once (None when larger than the app accepts)."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    size = request.content_length or 0
    body: bytes | None = None
    note = ""
    if size > limit:
        note = f"the body is larger than {limit} bytes: not read"
    else:
        try:
            body = request.get_data(cache=True)
            size = len(body)
        except HTTPException:
            note = f"the body is larger than {limit} bytes: not read"
        except OSError:
            note = "the body could not be read"
    return integration_hooks.Incoming(
        method=request.method,
        headers=list(request.headers.items()),
        body=body,
        body_size=size,
        remote_addr=client_ip(),
        note=note,
    )
