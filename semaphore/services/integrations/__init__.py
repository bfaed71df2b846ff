"""Integrations: incoming webhooks that start a template, with their matchers, extracted values
and public URL aliases. Receiving a request is in `integration_hooks`.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from semaphore.config import current_config
from semaphore.errors import NotFound, ValidationError
from semaphore.extensions import db
from semaphore.models import (
    AccessKey,
    Integration,
    IntegrationAlias,
    IntegrationExtractValue,
    IntegrationMatcher,
    Template,
)
from semaphore.schemas.base import parse
from semaphore.schemas.integrations import MATCH_METHODS as MATCH_METHODS  # for the pages
from semaphore.schemas.integrations import SECRET_METHODS as SECRET_METHODS  # for the hooks
from semaphore.schemas.integrations import ExtractValueIn, IntegrationIn, MatcherIn
from semaphore.schemas.json_text import stored_object
from semaphore.services import events
from semaphore.services import validation as v
from semaphore.services.listing import sorted_query
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import check_body_ids, get_in_project, key_reference, reference

ALIAS_LENGTH = 16
ALIAS_ALPHABET = string.ascii_lowercase + string.digits
SORT_COLUMNS = {"name": Integration.name}


# --- integrations --------------------------------------------------------------------------------


def list_integrations(
    access: ProjectAccess, sort: str | None = None, order: str | None = None
) -> list[Integration]:
    """The project's integrations, by name unless sorted otherwise."""
    query = select(Integration).where(Integration.project_id == access.project_id)
    query = sorted_query(query, SORT_COLUMNS, sort, order, "name", Integration.id)
    return list(db.session.scalars(query))


def get_integration(access: ProjectAccess, integration_id: int) -> Integration:
    """The project's integration.

    Raises:
        NotFound: no such integration in this project.
    """
    return get_in_project(Integration, integration_id, access.project_id, "Integration")


def task_params(integration: Integration) -> dict | None:
    """The task parameters the integration's runs start from (the contract's TaskPrams), or None."""
    return stored_object(integration.task_params)


def _auth_secret(access: ProjectAccess, data: Mapping[str, Any]) -> int | None:
    key_id = key_reference(access, data, "auth_secret_id")
    if key_id is not None and db.session.get(AccessKey, key_id).type != "login_password":
        # The secret is the key's password (and its login, for basic authentication).
        raise ValidationError("auth_secret_id must be a login_password key", "auth_secret_id")
    return key_id


def _integration_values(
    access: ProjectAccess, data: Mapping[str, Any], integration_id: int | None
) -> dict:
    v.require_mapping(data)
    check_body_ids(access, data, "Integration", integration_id)
    body = parse(IntegrationIn, data)
    # The environment and arguments texts inside are stored unchecked, as in the original,
    # but never JSON nested past what a run can parse.
    v.refuse_deep_json_texts(data.get("task_params"), "task_params")
    return {
        "name": body.name,
        "template_id": reference(
            data, "template_id", Template, access.project_id, "Template", required=True
        ),
        "auth_method": body.auth_method,
        "auth_secret_id": _auth_secret(access, data),
        "auth_header": body.auth_header,
        "searchable": body.searchable,
        "task_params": body.task_params.stored() if body.task_params is not None else None,
    }


def create_integration(access: ProjectAccess, data: Mapping[str, Any]) -> Integration:
    """A new integration of one of the project's templates."""
    access.require(MANAGE_RESOURCES)
    integration = Integration(
        project_id=access.project_id, **_integration_values(access, data, None)
    )
    db.session.add(integration)
    db.session.flush()
    events.record(access, "integration", integration.id, f"Integration {integration.name} created")
    db.session.commit()
    return integration


def update_integration(
    access: ProjectAccess, integration_id: int, data: Mapping[str, Any]
) -> Integration:
    """Replace an integration's settings; its matchers, values and aliases stay."""
    access.require(MANAGE_RESOURCES)
    integration = get_integration(access, integration_id)
    for key, value in _integration_values(access, data, integration_id).items():
        setattr(integration, key, value)
    events.record(access, "integration", integration.id, f"Integration {integration.name} updated")
    db.session.commit()
    return integration


def delete_integration(access: ProjectAccess, integration_id: int) -> None:
    """Remove an integration with its matchers, values and aliases; its tasks stay."""
    access.require(MANAGE_RESOURCES)
    integration = get_integration(access, integration_id)
    name = integration.name
    db.session.delete(integration)
    events.record(access, "integration", integration_id, f"Integration {name} deleted")
    db.session.commit()


def integration_refs(access: ProjectAccess, integration_id: int) -> dict[str, list[dict]]:
    """The integration's matchers and values by id and name (the original's refs)."""
    get_integration(access, integration_id)
    return {
        "matchers": [{"id": m.id, "name": m.name} for m in list_matchers(access, integration_id)],
        "values": [{"id": x.id, "name": x.name} for x in list_values(access, integration_id)],
    }


# --- matchers and extracted values ----------------------------------------------------------------


def _children(model: type, access: ProjectAccess, integration_id: int) -> list:
    get_integration(access, integration_id)
    query = select(model).where(model.integration_id == integration_id).order_by(model.id)
    return list(db.session.scalars(query))


def _child(model: type, access: ProjectAccess, integration_id: int, child_id: int, label: str):
    get_integration(access, integration_id)
    row = db.session.get(model, child_id)
    if row is None or row.integration_id != integration_id:
        raise NotFound(f"{label} not found")
    return row


def list_matchers(access: ProjectAccess, integration_id: int) -> list[IntegrationMatcher]:
    """The integration's matchers, in the order they are checked."""
    return _children(IntegrationMatcher, access, integration_id)


def get_matcher(access: ProjectAccess, integration_id: int, matcher_id: int) -> IntegrationMatcher:
    """Raises:
    NotFound: no such matcher on this integration of the project.
    """
    return _child(IntegrationMatcher, access, integration_id, matcher_id, "Matcher")


def _matcher_values(data: Mapping[str, Any]) -> dict:
    return parse(MatcherIn, data).model_dump()


def create_matcher(
    access: ProjectAccess, integration_id: int, data: Mapping[str, Any]
) -> IntegrationMatcher:
    """A new matcher; a project alias starts the integration only when all of them match."""
    access.require(MANAGE_RESOURCES)
    get_integration(access, integration_id)
    matcher = IntegrationMatcher(integration_id=integration_id, **_matcher_values(data))
    db.session.add(matcher)
    db.session.flush()
    events.record(
        access, "integrationmatcher", matcher.id, f"Integration matcher {matcher.name} created"
    )
    db.session.commit()
    return matcher


def update_matcher(
    access: ProjectAccess, integration_id: int, matcher_id: int, data: Mapping[str, Any]
) -> IntegrationMatcher:
    """Replace a matcher."""
    access.require(MANAGE_RESOURCES)
    matcher = get_matcher(access, integration_id, matcher_id)
    for key, value in _matcher_values(data).items():
        setattr(matcher, key, value)
    events.record(
        access, "integrationmatcher", matcher.id, f"Integration matcher {matcher.name} updated"
    )
    db.session.commit()
    return matcher


def delete_matcher(access: ProjectAccess, integration_id: int, matcher_id: int) -> None:
    """Remove a matcher."""
    access.require(MANAGE_RESOURCES)
    matcher = get_matcher(access, integration_id, matcher_id)
    name = matcher.name
    db.session.delete(matcher)
    events.record(access, "integrationmatcher", matcher_id, f"Integration matcher {name} deleted")
    db.session.commit()


def list_values(access: ProjectAccess, integration_id: int) -> list[IntegrationExtractValue]:
    """The values the integration extracts from a request."""
    return _children(IntegrationExtractValue, access, integration_id)


def get_value(access: ProjectAccess, integration_id: int, value_id: int) -> IntegrationExtractValue:
    """Raises:
    NotFound: no such extracted value on this integration of the project.
    """
    return _child(IntegrationExtractValue, access, integration_id, value_id, "Extract value")


def _value_values(data: Mapping[str, Any]) -> dict:
    return parse(ExtractValueIn, data).model_dump()


def create_value(
    access: ProjectAccess, integration_id: int, data: Mapping[str, Any]
) -> IntegrationExtractValue:
    """A new value to extract into the task's environment (or its parameters)."""
    access.require(MANAGE_RESOURCES)
    get_integration(access, integration_id)
    value = IntegrationExtractValue(integration_id=integration_id, **_value_values(data))
    db.session.add(value)
    db.session.flush()
    events.record(
        access,
        "integrationextractvalue",
        value.id,
        f"Integration extract value {value.name} created",
    )
    db.session.commit()
    return value


def update_value(
    access: ProjectAccess, integration_id: int, value_id: int, data: Mapping[str, Any]
) -> IntegrationExtractValue:
    """Replace an extracted value."""
    access.require(MANAGE_RESOURCES)
    value = get_value(access, integration_id, value_id)
    for key, column in _value_values(data).items():
        setattr(value, key, column)
    events.record(
        access,
        "integrationextractvalue",
        value.id,
        f"Integration extract value {value.name} updated",
    )
    db.session.commit()
    return value


def delete_value(access: ProjectAccess, integration_id: int, value_id: int) -> None:
    """Remove an extracted value."""
    access.require(MANAGE_RESOURCES)
    value = get_value(access, integration_id, value_id)
    name = value.name
    db.session.delete(value)
    events.record(
        access, "integrationextractvalue", value_id, f"Integration extract value {name} deleted"
    )
    db.session.commit()


# --- aliases --------------------------------------------------------------------------------------


def list_aliases(
    access: ProjectAccess, integration_id: int | None = None
) -> list[IntegrationAlias]:
    """The integration's aliases, or the project's own (those of no integration)."""
    if integration_id is not None:
        get_integration(access, integration_id)
    query = select(IntegrationAlias).where(
        IntegrationAlias.project_id == access.project_id,
        IntegrationAlias.integration_id.is_(None)
        if integration_id is None
        else IntegrationAlias.integration_id == integration_id,
    )
    return list(db.session.scalars(query.order_by(IntegrationAlias.id)))


def _new_alias() -> str:
    while True:
        alias = "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(ALIAS_LENGTH))
        taken = db.session.scalar(
            select(IntegrationAlias.id).where(IntegrationAlias.alias == alias)
        )
        if taken is None:
            return alias


def create_alias(access: ProjectAccess, integration_id: int | None = None) -> IntegrationAlias:
    """A new random alias: the integration's own, or the project's (integration_id None)."""
    access.require(MANAGE_RESOURCES)
    if integration_id is not None:
        get_integration(access, integration_id)
    alias = IntegrationAlias(
        alias=_new_alias(), project_id=access.project_id, integration_id=integration_id
    )
    db.session.add(alias)
    db.session.commit()
    return alias


def delete_alias(access: ProjectAccess, alias_id: int, integration_id: int | None = None) -> None:
    """Remove an alias: its URL stops answering at once.

    Raises:
        NotFound: no such alias in the project (or on the integration, when one is given).
    """
    access.require(MANAGE_RESOURCES)
    if integration_id is not None:
        get_integration(access, integration_id)
    alias = get_in_project(IntegrationAlias, alias_id, access.project_id, "Alias")
    if integration_id is not None and alias.integration_id != integration_id:
        raise NotFound("Alias not found")
    db.session.delete(alias)
    db.session.commit()


def alias_url(alias: str) -> str:
    """The URL to give the sender: <web_host>/api/integrations/<alias>, as the original builds it
    (http://localhost:<port> without a web_host)."""
    config = current_config()
    host = config.web_host or f"http://localhost:{config.port}"
    return f"{host.rstrip('/')}/api/integrations/{alias}"
