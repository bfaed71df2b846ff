"""Access keys: SSH private keys, logins with passwords, and `none`.

Secrets are sealed with AES-GCM under access_key_encryption before they reach the database and
are never returned. An update changes the type and secret only with `override_secret: true`.
Environment secrets are `string` keys owned by an environment; they are not listed here.

The worker imports this module for every run, which may open no key: the schemas (pydantic)
are imported by the functions that check a request, and cryptography by security.crypto when
a secret is sealed or opened (issue 17).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from semaphore.config import current_config
from semaphore.errors import ValidationError
from semaphore.extensions import db
from semaphore.models import (
    AccessKey,
    Integration,
    Inventory,
    Repository,
    Template,
    TemplateVault,
)
from semaphore.security.crypto import seal, unseal
from semaphore.services import events, listing
from semaphore.services import validation as v
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import (
    check_body_ids,
    get_in_project,
    referrers_of,
    refuse_if_used,
)

if TYPE_CHECKING:
    from semaphore.schemas.listing import Page

SORTS = {"name": AccessKey.name, "type": AccessKey.type}


@dataclass(frozen=True)
class KeySecret:
    """A key's decrypted secret, for the task engine only."""

    type: str
    login: str = ""
    password: str = ""
    private_key: str = ""
    passphrase: str = ""
    string: str = ""


def _encryption_key() -> bytes:
    return current_config().secret_bytes("access_key_encryption")


def seal_secret(plaintext: str) -> str:
    return seal(plaintext, _encryption_key())


def read_secret(key: AccessKey) -> KeySecret:
    """Decrypt a key's secret (DecryptionError when the encryption key changed)."""
    if not key.secret:
        return KeySecret(type=key.type)
    plaintext = unseal(key.secret, _encryption_key())
    if key.type == "string":
        return KeySecret(type="string", string=plaintext)
    data = json.loads(plaintext)
    return KeySecret(type=key.type, **{k: data.get(k, "") for k in _SECRET_FIELDS[key.type]})


_SECRET_FIELDS = {
    "ssh": ("login", "private_key", "passphrase"),
    "login_password": ("login", "password"),
    "none": (),
}


def _sealed(secret: dict[str, str] | None) -> str | None:
    return None if secret is None else seal_secret(json.dumps(secret))


def list_keys(
    access: ProjectAccess,
    sort: str | None = None,
    order: str | None = None,
    key_type: str | None = None,
    *,
    page: Page | None = None,
) -> listing.Rows[AccessKey]:
    """The project's keys, without the ones environments own for their secrets."""
    query = select(AccessKey).where(
        AccessKey.project_id == access.project_id, AccessKey.environment_id.is_(None)
    )
    if key_type:
        query = query.where(AccessKey.type == key_type)
    query = listing.sorted_query(query, SORTS, sort, order, "name", AccessKey.id)
    return listing.rows(query, page)


def get_key(access: ProjectAccess, key_id: int) -> AccessKey:
    key = get_in_project(AccessKey, key_id, access.project_id, "Access key")
    if key.environment_id is not None:
        raise ValidationError("This key belongs to an environment")
    return key


def create_key(access: ProjectAccess, data: Mapping[str, Any]) -> AccessKey:
    """A new key (managers, owners, admins)."""
    from semaphore.schemas.base import parse
    from semaphore.schemas.keys import KeyIn

    access.require(MANAGE_RESOURCES)
    v.require_mapping(data)
    check_body_ids(access, data, "Key", None)
    body = parse(KeyIn, data)
    key = AccessKey(
        name=body.name, type=body.type, project_id=access.project_id, secret=_sealed(body.secret())
    )
    db.session.add(key)
    db.session.flush()
    events.record(access, "key", key.id, f"Access Key {key.name} created")
    db.session.commit()
    return key


def update_key(access: ProjectAccess, key_id: int, data: Mapping[str, Any]) -> AccessKey:
    """Rename a key; replace its type and secret only when override_secret is true."""
    from semaphore.schemas.base import parse
    from semaphore.schemas.keys import KeyUpdateIn

    access.require(MANAGE_RESOURCES)
    v.require_mapping(data)
    key = get_key(access, key_id)
    check_body_ids(access, data, "Key", key_id)
    body = parse(KeyUpdateIn, data)
    key.name = body.name
    if body.override_secret:
        key.type = body.type
        key.secret = _sealed(body.secret())
    events.record(access, "key", key.id, f"Access Key {key.name} updated")
    db.session.commit()
    return key


def key_refs(access: ProjectAccess, key_id: int) -> dict[str, list[dict]]:
    """What uses the key: repositories, inventories, templates (vaults) and integrations.

    Raises:
        NotFound: no such key in this project.
    """
    get_key(access, key_id)
    return keys_in_use([key_id])[key_id]


def keys_in_use(key_ids: Iterable[int]) -> dict[int, dict[str, list[dict]]]:
    """What uses each of these keys, by kind (as `key_refs`), in one query per kind: the
    Key Store's "in use" column and the delete refusal read the same rule."""
    ids = list(key_ids)
    if not ids:
        return {}
    return referrers_of(
        ids,
        repositories=select(Repository.id, Repository.name, Repository.ssh_key_id).where(
            Repository.ssh_key_id.in_(ids)
        ),
        inventories=select(
            Inventory.id, Inventory.name, Inventory.ssh_key_id, Inventory.become_key_id
        ).where(or_(Inventory.ssh_key_id.in_(ids), Inventory.become_key_id.in_(ids))),
        templates=select(Template.id, Template.name, TemplateVault.vault_key_id)
        .join(TemplateVault, TemplateVault.template_id == Template.id)
        .where(TemplateVault.vault_key_id.in_(ids)),
        integrations=select(Integration.id, Integration.name, Integration.auth_secret_id).where(
            Integration.auth_secret_id.in_(ids)
        ),
    )


def delete_key(access: ProjectAccess, key_id: int) -> None:
    """Remove a key that nothing uses (400 inUse, naming its users, otherwise)."""
    access.require(MANAGE_RESOURCES)
    key = get_key(access, key_id)
    refuse_if_used("Access Key", key_refs(access, key_id))
    db.session.delete(key)
    events.record(access, "key", key_id, f"Access Key {key.name} deleted")
    db.session.commit()


def is_empty(key: AccessKey) -> bool:
    """True when no secret is stored (the list's `empty` flag)."""
    return not key.secret
