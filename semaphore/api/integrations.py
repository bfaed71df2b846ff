"""Integrations: /api/project/{id}/integrations (with matchers, values and aliases), and the
public /api/integrations/{alias} that webhook senders call."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from semaphore.api.blueprint import api_blueprint, public
from semaphore.api.openapi import documented
from semaphore.api.project_scope import access, sort_args
from semaphore.api.request_body import json_object
from semaphore.extensions import db
from semaphore.identity import client_ip
from semaphore.models import IntegrationAlias
from semaphore.schemas.integrations import (
    AliasList,
    AliasOut,
    ChildRefs,
    ExtractValueCreateIn,
    ExtractValueIn,
    ExtractValueList,
    ExtractValueOut,
    IntegrationIn,
    IntegrationList,
    IntegrationOut,
    IntegrationRefs,
    MatcherCreateIn,
    MatcherIn,
    MatcherList,
    MatcherOut,
)
from semaphore.services import integrations
from semaphore.services.integrations import hooks as integration_hooks

TAGS = ("integration",)
LIST = "/project/<int:project_id>/integrations"
ONE = LIST + "/<int:integration_id>"


def _alias(row: IntegrationAlias) -> dict[str, Any]:
    return AliasOut.dump({"id": row.id, "url": integrations.alias_url(row.alias)})


# --- integrations -------------------------------------------------------------------------------


@api_blueprint.get(LIST)
@documented(answers={200: IntegrationList}, tags=TAGS)
def list_integrations(project_id: int) -> Response:
    rows = integrations.list_integrations(access(project_id), *sort_args())
    return jsonify(IntegrationList.dump(rows))


@api_blueprint.post(LIST)
@documented(body=IntegrationIn, answers={201: IntegrationOut}, tags=TAGS)
def create_integration(project_id: int) -> tuple[Response, int]:
    row = integrations.create_integration(access(project_id), json_object())
    return jsonify(IntegrationOut.dump(row)), 201


@api_blueprint.get(ONE)
@documented(answers={200: IntegrationOut}, tags=TAGS)
def get_integration(project_id: int, integration_id: int) -> Response:
    row = integrations.get_integration(access(project_id), integration_id)
    return jsonify(IntegrationOut.dump(row))


@api_blueprint.get(ONE + "/refs")
@documented(answers={200: IntegrationRefs}, tags=TAGS, addition=True)
def integration_refs(project_id: int, integration_id: int) -> Response:
    return jsonify(integrations.integration_refs(access(project_id), integration_id))


@api_blueprint.put(ONE)
@documented(body=IntegrationIn, answers={204: None}, tags=TAGS)
def update_integration(project_id: int, integration_id: int) -> tuple[str, int]:
    integrations.update_integration(access(project_id), integration_id, json_object())
    return "", 204


@api_blueprint.delete(ONE)
@documented(answers={204: None}, tags=TAGS)
def delete_integration(project_id: int, integration_id: int) -> tuple[str, int]:
    integrations.delete_integration(access(project_id), integration_id)
    return "", 204


# --- matchers -----------------------------------------------------------------------------------


@api_blueprint.get(ONE + "/matchers")
@documented(answers={200: MatcherList}, tags=TAGS)
def list_matchers(project_id: int, integration_id: int) -> Response:
    rows = integrations.list_matchers(access(project_id), integration_id)
    return jsonify(MatcherList.dump(rows))


@api_blueprint.post(ONE + "/matchers")
@documented(body=MatcherCreateIn, answers={200: MatcherOut}, tags=TAGS)
def create_matcher(project_id: int, integration_id: int) -> tuple[Response, int]:
    row = integrations.create_matcher(access(project_id), integration_id, json_object())
    return jsonify(MatcherOut.dump(row)), 200  # the original's status for a new matcher


@api_blueprint.get(ONE + "/matchers/<int:matcher_id>")
@documented(answers={200: MatcherOut}, tags=TAGS, addition=True)
def get_matcher(project_id: int, integration_id: int, matcher_id: int) -> Response:
    row = integrations.get_matcher(access(project_id), integration_id, matcher_id)
    return jsonify(MatcherOut.dump(row))


@api_blueprint.get(ONE + "/matchers/<int:matcher_id>/refs")
@documented(answers={200: ChildRefs}, tags=TAGS, addition=True)
def matcher_refs(project_id: int, integration_id: int, matcher_id: int) -> Response:
    integrations.get_matcher(access(project_id), integration_id, matcher_id)
    return jsonify(ChildRefs.dump({"integrations": []}))


@api_blueprint.put(ONE + "/matchers/<int:matcher_id>")
@documented(body=MatcherIn, answers={204: None}, tags=TAGS)
def update_matcher(project_id: int, integration_id: int, matcher_id: int) -> tuple[str, int]:
    integrations.update_matcher(access(project_id), integration_id, matcher_id, json_object())
    return "", 204


@api_blueprint.delete(ONE + "/matchers/<int:matcher_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_matcher(project_id: int, integration_id: int, matcher_id: int) -> tuple[str, int]:
    integrations.delete_matcher(access(project_id), integration_id, matcher_id)
    return "", 204


# --- extracted values ---------------------------------------------------------------------------


@api_blueprint.get(ONE + "/values")
@documented(answers={200: ExtractValueList}, tags=TAGS)
def list_values(project_id: int, integration_id: int) -> Response:
    rows = integrations.list_values(access(project_id), integration_id)
    return jsonify(ExtractValueList.dump(rows))


@api_blueprint.post(ONE + "/values")
@documented(body=ExtractValueCreateIn, answers={201: ExtractValueOut}, tags=TAGS)
def create_value(project_id: int, integration_id: int) -> tuple[Response, int]:
    row = integrations.create_value(access(project_id), integration_id, json_object())
    return jsonify(ExtractValueOut.dump(row)), 201


@api_blueprint.get(ONE + "/values/<int:value_id>")
@documented(answers={200: ExtractValueOut}, tags=TAGS, addition=True)
def get_value(project_id: int, integration_id: int, value_id: int) -> Response:
    row = integrations.get_value(access(project_id), integration_id, value_id)
    return jsonify(ExtractValueOut.dump(row))


@api_blueprint.get(ONE + "/values/<int:value_id>/refs")
@documented(answers={200: ChildRefs}, tags=TAGS, addition=True)
def value_refs(project_id: int, integration_id: int, value_id: int) -> Response:
    integrations.get_value(access(project_id), integration_id, value_id)
    return jsonify(ChildRefs.dump({"integrations": []}))


@api_blueprint.put(ONE + "/values/<int:value_id>")
@documented(body=ExtractValueIn, answers={204: None}, tags=TAGS)
def update_value(project_id: int, integration_id: int, value_id: int) -> tuple[str, int]:
    integrations.update_value(access(project_id), integration_id, value_id, json_object())
    return "", 204


@api_blueprint.delete(ONE + "/values/<int:value_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_value(project_id: int, integration_id: int, value_id: int) -> tuple[str, int]:
    integrations.delete_value(access(project_id), integration_id, value_id)
    return "", 204


# --- aliases: the project's own, and each integration's ------------------------------------------


@api_blueprint.get(LIST + "/aliases")
@api_blueprint.get(ONE + "/aliases")
@documented(answers={200: AliasList}, tags=TAGS)
def list_aliases(project_id: int, integration_id: int | None = None) -> Response:
    rows = integrations.list_aliases(access(project_id), integration_id)
    return jsonify([_alias(row) for row in rows])


@api_blueprint.post(LIST + "/aliases")
@api_blueprint.post(ONE + "/aliases")
@documented(answers={200: AliasOut}, tags=TAGS)
def create_alias(project_id: int, integration_id: int | None = None) -> tuple[Response, int]:
    row = integrations.create_alias(access(project_id), integration_id)
    return jsonify(_alias(row)), 200  # the original's status for a new alias


@api_blueprint.delete(LIST + "/aliases/<int:alias_id>")
@api_blueprint.delete(ONE + "/aliases/<int:alias_id>")
@documented(answers={204: None}, tags=TAGS)
def delete_alias(
    project_id: int, alias_id: int, integration_id: int | None = None
) -> tuple[str, int]:
    integrations.delete_alias(access(project_id), alias_id, integration_id)
    return "", 204


# --- the public URL -----------------------------------------------------------------------------


@api_blueprint.route("/integrations/<alias>", methods=["GET", "POST", "OPTIONS"])
@public
@documented(answers={204: None}, tags=TAGS, addition=True)
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
