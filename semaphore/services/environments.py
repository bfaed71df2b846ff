"""Environments: extra variables (`json`), environment variables (`env`) and secrets.

Secrets are `string` access keys owned by the environment, named `var.<NAME>` (an extra
variable) or `env.<NAME>` (an environment variable), sealed like every key. Requests change them
through `secrets: [{operation, id, type, name, secret}]`; no response ever carries a value. All
operations are checked before the first write, so a bad one leaves everything as it was.

The worker merges a run's environments for every run: the schemas (pydantic) are imported by
the functions that check a request, the first time one runs (issue 17).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from semaphore.errors import NotFound, Problems, ValidationError
from semaphore.extensions import db
from semaphore.models import AccessKey, Environment, Template, TemplateEnvironment
from semaphore.schemas.choices import SECRET_TYPES
from semaphore.services import events, keys, listing
from semaphore.services import validation as v
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import (
    check_body_ids,
    get_in_project,
    referrers,
    refuse_if_used,
)

if TYPE_CHECKING:
    from semaphore.schemas.environments import EnvironmentIn
    from semaphore.schemas.listing import Page

SORTS = {"name": Environment.name}


@dataclass(frozen=True)
class EnvironmentSecret:
    """A secret as it may be shown: which variable it sets, never its value."""

    id: int
    type: str
    name: str


@dataclass(frozen=True)
class _SecretChange:
    index: int
    operation: str
    key: AccessKey | None
    type: str
    name: str
    value: str | None


def _split_name(stored: str) -> tuple[str, str]:
    """('var'|'env', NAME) from a stored key name; unprefixed names are extra variables."""
    prefix, dot, rest = stored.partition(".")
    if dot and prefix in SECRET_TYPES:
        return prefix, rest
    return "var", stored


def _json_object(text: str | None, field: str, label: str) -> str | None:
    """The text, which must hold a JSON object (`env` may be blank: no variables)."""
    if text is None or (field == "env" and not text.strip()):
        return text
    parsed = v.parse_json_text(text, field, label=label)
    if not isinstance(parsed, dict):
        raise ValidationError(f"{label} must be a JSON object", field)
    if any(not key for key in parsed):
        raise ValidationError(f"{label}: a key can not be empty", field)
    if field == "env" and any(isinstance(value, (dict, list)) for value in parsed.values()):
        raise ValidationError(f"{label}: values must be scalar", field)
    return text


def _fields(data: Mapping[str, Any]) -> tuple[EnvironmentIn, dict[str, Any]]:
    """The request read and every column it sets, validated before anything is written.

    Raises:
        ValidationError: every problem of the shape and of the variables' texts (a form shows
            them all; the API answers with the first, the shape's as before).
    """
    from semaphore.schemas.base import parse
    from semaphore.schemas.environments import EnvironmentIn

    problems = Problems()
    body = problems.check(lambda: parse(EnvironmentIn, data))
    if body is not None:
        texts = {"json": body.json_text, "env": body.env}
    else:  # the texts are still checked, when they are texts
        texts = {name: data.get(name) for name in VARIABLE_FIELDS}
        texts = {name: text for name, text in texts.items() if isinstance(text, str)}
    for field, text in texts.items():
        problems.check(
            lambda field=field, text=text: _json_object(text, field, VARIABLE_FIELDS[field])
        )
    problems.raise_any()
    return body, {
        "name": body.name,
        "json": body.json_text,
        "env": body.env,
        "password": body.password,
    }


# The variables' texts a form may check before saving, with the names messages give them.
VARIABLE_FIELDS = {"json": "Extra variables", "env": "Environment variables"}


def check_variables(access: ProjectAccess, field: str, text: str | None) -> None:
    """Check the `json` or `env` text by the rules of a save, saving nothing (a form's check
    as the user types; managers, owners, admins).

    Raises:
        ValidationError: what a save would refuse, at `field`.
    """
    access.require(MANAGE_RESOURCES)
    if field not in VARIABLE_FIELDS:
        raise ValidationError("field must be json or env", "field")
    _json_object(text or "", field, VARIABLE_FIELDS[field])


def _secret_keys(environment_id: int) -> dict[int, AccessKey]:
    query = select(AccessKey).where(AccessKey.environment_id == environment_id)
    return {key.id: key for key in db.session.scalars(query.order_by(AccessKey.id))}


def _parse_secret(item: Any, index: int, existing: dict[int, AccessKey]) -> _SecretChange | None:
    from semaphore.schemas.base import parse
    from semaphore.schemas.environments import EnvironmentSecretChangeIn, EnvironmentSecretValueIn

    if not isinstance(item, Mapping):
        raise ValidationError("must be an object")
    change = parse(EnvironmentSecretChangeIn, item)
    if not change.operation:
        return None
    key = None
    if change.operation != "create":
        key = existing.get(change.id or 0)
        if key is None:
            raise ValidationError("id: the secret does not belong to this environment", "id")
        if change.operation == "delete":
            return _SecretChange(index, change.operation, key, *_split_name(key.name), None)
    value = parse(EnvironmentSecretValueIn, item)
    return _SecretChange(index, change.operation, key, value.type, value.name, value.secret)


def _secret_change(item: Any, index: int, existing: dict[int, AccessKey]) -> _SecretChange | None:
    """One validated item of `secrets`; None for items without an operation (unchanged).

    Raises:
        ValidationError: its message and field start with `secrets[<index>]`, so that a form
            can show it at the row, and it cannot be mistaken for the environment's own field.
    """
    try:
        return _parse_secret(item, index, existing)
    except ValidationError as exc:
        where = f"secrets[{index}]"
        field = f"{where}.{exc.field}" if exc.field else where
        separator = "." if exc.field and exc.message.startswith(exc.field) else " "
        raise ValidationError(f"{where}{separator}{exc.message}", field) from None


def _check_unique_names(existing: dict[int, AccessKey], changes: list[_SecretChange]) -> None:
    """Refuse changes after which two secrets of one type would share a name."""
    touched = [change.key.id for change in changes if change.key is not None]
    if len(touched) != len(set(touched)):
        raise ValidationError("A secret can be changed only once per request", "secrets")
    final = {key_id: _split_name(key.name) for key_id, key in existing.items()}
    for change in changes:
        slot = change.key.id if change.key is not None else f"new{change.index}"
        if change.operation == "delete":
            final.pop(slot, None)
        else:
            final[slot] = (change.type, change.name)
    names = list(final.values())
    for change in changes:
        if change.operation != "delete" and names.count((change.type, change.name)) > 1:
            raise ValidationError(
                f"secrets[{change.index}].name: this environment already has a secret "
                f"{change.type}.{change.name}",
                f"secrets[{change.index}].name",
            )


def _secret_changes(body: EnvironmentIn, existing: dict[int, AccessKey]) -> list[_SecretChange]:
    """Every change requested, checked before anything is written."""
    changes = [_secret_change(item, i, existing) for i, item in enumerate(body.secrets or [])]
    changes = [change for change in changes if change is not None]
    _check_unique_names(existing, changes)
    return changes


def _apply_secret_changes(
    access: ProjectAccess, environment: Environment, changes: list[_SecretChange]
) -> None:
    for change in changes:
        if change.operation == "delete":
            db.session.delete(change.key)
            continue
        key = change.key
        if key is None:
            key = AccessKey(
                type="string", project_id=access.project_id, environment_id=environment.id
            )
            db.session.add(key)
        key.name = f"{change.type}.{change.name}"
        # An update with an empty secret keeps the stored value, as the original does.
        if change.operation == "create" or change.value:
            key.secret = keys.seal_secret(change.value or "")


def list_environments(
    access: ProjectAccess,
    sort: str | None = None,
    order: str | None = None,
    *,
    page: Page | None = None,
) -> listing.Rows[Environment]:
    """The project's environments, sorted by name."""
    query = select(Environment).where(Environment.project_id == access.project_id)
    query = listing.sorted_query(query, SORTS, sort, order, "name", Environment.id)
    return listing.rows(query, page)


def get_environment(access: ProjectAccess, environment_id: int) -> Environment:
    """The project's environment.

    Raises:
        NotFound: no such environment in this project.
    """
    return get_in_project(Environment, environment_id, access.project_id, "Environment")


def environment_secrets(access: ProjectAccess, environment: Environment) -> list[EnvironmentSecret]:
    """The environment's secrets, without their values, in creation order."""
    return secrets_of(access, [environment])[environment.id]


def secrets_of(
    access: ProjectAccess, environments: list[Environment]
) -> dict[int, list[EnvironmentSecret]]:
    """Secrets of several environments (without values) in one query, by environment id."""
    if any(environment.project_id != access.project_id for environment in environments):
        raise NotFound("Environment not found")
    found: dict[int, list[EnvironmentSecret]] = {environment.id: [] for environment in environments}
    if found:
        query = select(AccessKey).where(AccessKey.environment_id.in_(list(found)))
        for key in db.session.scalars(query.order_by(AccessKey.id)):
            found[key.environment_id].append(EnvironmentSecret(key.id, *_split_name(key.name)))
    return found


def secret_values(environment: Environment) -> list[tuple[str, str, str]]:
    """(type 'var'|'env', name, value) of every secret, decrypted: for the task engine only.

    Raises:
        DecryptionError: a value was sealed with another access_key_encryption.
    """
    return [
        (*_split_name(key.name), keys.read_secret(key).string)
        for key in _secret_keys(environment.id).values()
    ]


@dataclass(frozen=True)
class RunEnvironment:
    """What a run takes from its template's environments and its own values, merged."""

    variables: dict[str, Any]  # extra variables: the environments' JSON, then the task's
    env: dict[str, Any]  # environment variables (values as stored)
    secrets: list[tuple[str, str, str]]  # (type, name, value), decrypted; workers only


def run_environment(
    environment_ids: list[int], task_values: Mapping[str, Any], *, with_secrets: bool = True
) -> RunEnvironment:
    """The one merge rule for a run's variables (worker, schedules, integrations, task page).

    The template's environments apply in order, a later one overriding an earlier one's
    keys; then the task's values (survey answers, the task's, a schedule's or an
    integration's environment) override them all, as the original's releases of this contract
    do. Secrets merge by type and name in the same order; `with_secrets=False` skips
    decrypting them (the task page shows no secret).

    Raises:
        DecryptionError: a secret was sealed with another access_key_encryption.
    """
    rows = {row.id: row for row in _environments_by_id(environment_ids)}
    variables: dict[str, Any] = {}
    env: dict[str, Any] = {}
    secrets: dict[tuple[str, str], str] = {}
    for environment_id in environment_ids:
        row = rows.get(environment_id)
        if row is None:
            continue
        variables.update(_stored_object(row.json))
        env.update(_stored_object(row.env))
        if with_secrets:
            for kind, name, value in secret_values(row):
                secrets[(kind, name)] = value
    variables.update(task_values)
    return RunEnvironment(
        variables, env, [(kind, name, value) for (kind, name), value in secrets.items()]
    )


def _environments_by_id(environment_ids: list[int]) -> list[Environment]:
    if not environment_ids:
        return []
    return list(db.session.scalars(select(Environment).where(Environment.id.in_(environment_ids))))


def _stored_object(text: str | None) -> dict[str, Any]:
    """A JSON-object column as a dict (stored values were validated; {} if not an object)."""
    value = v.parse_json_text(text, default={}) if text else {}
    return value if isinstance(value, dict) else {}


def create_environment(access: ProjectAccess, data: Mapping[str, Any]) -> Environment:
    """A new environment with its secrets (managers, owners, admins).

    Raises:
        PermissionDenied, ValidationError.
    """
    access.require(MANAGE_RESOURCES)
    v.require_mapping(data)
    check_body_ids(access, data, "Environment", None)
    body, fields = _fields(data)
    changes = _secret_changes(body, {})
    if any(change.operation != "create" for change in changes):
        raise ValidationError("A new environment can only create secrets", "secrets")
    environment = Environment(project_id=access.project_id, **fields)
    db.session.add(environment)
    db.session.flush()
    _apply_secret_changes(access, environment, changes)
    events.record(access, "environment", environment.id, f"Environment {environment.name} created")
    db.session.commit()
    return environment


def update_environment(
    access: ProjectAccess, environment_id: int, data: Mapping[str, Any]
) -> Environment:
    """Replace an environment's fields and apply the requested secret changes.

    Raises:
        PermissionDenied, NotFound, ValidationError.
    """
    access.require(MANAGE_RESOURCES)
    environment = get_environment(access, environment_id)
    v.require_mapping(data)
    check_body_ids(access, data, "Environment", environment_id)
    body, fields = _fields(data)
    changes = _secret_changes(body, _secret_keys(environment_id))
    for field, value in fields.items():
        setattr(environment, field, value)
    _apply_secret_changes(access, environment, changes)
    events.record(access, "environment", environment.id, f"Environment {environment.name} updated")
    db.session.commit()
    return environment


def environment_refs(access: ProjectAccess, environment_id: int) -> dict[str, list[dict]]:
    """What uses the environment: templates (as their first or a further environment).

    Raises:
        NotFound: no such environment in this project.
    """
    get_environment(access, environment_id)
    listed = select(TemplateEnvironment.template_id).where(
        TemplateEnvironment.environment_id == environment_id
    )
    return referrers(
        templates=select(Template.id, Template.name).where(
            (Template.environment_id == environment_id) | Template.id.in_(listed)
        )
    )


def delete_environment(access: ProjectAccess, environment_id: int) -> None:
    """Remove an environment no template uses, and its secrets with it.

    Raises:
        PermissionDenied, NotFound, InUse.
    """
    access.require(MANAGE_RESOURCES)
    environment = get_environment(access, environment_id)
    refuse_if_used("Environment", environment_refs(access, environment_id))
    name = environment.name
    db.session.execute(delete(AccessKey).where(AccessKey.environment_id == environment_id))
    db.session.delete(environment)
    events.record(access, "environment", environment_id, f"Environment {name} deleted")
    db.session.commit()
