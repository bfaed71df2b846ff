"""Access keys: SSH private keys, logins with passwords, and `none`.

Secrets are sealed with AES-GCM under access_key_encryption before they reach the database and
are never returned. An update changes the type and secret only with `override_secret: true`.
Environment secrets are `string` keys owned by an environment; they are not listed here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

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
    referrers,
    refuse_if_used,
)

USER_KEY_TYPES = ("none", "ssh", "login_password")
MAX_SECRET = 64 * 1024
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


def check_private_key(private_key: str, passphrase: str) -> None:
    """Refuse a private key that does not parse (OpenSSH or PEM), or a wrong passphrase."""
    data = private_key.strip().encode() + b"\n"
    password = passphrase.encode() or None
    for loader in (serialization.load_ssh_private_key, serialization.load_pem_private_key):
        for attempt in (password, None) if password else (None,):
            try:
                loader(data, attempt)
                return
            except TypeError as exc:
                if "not encrypted" in str(exc):
                    continue
                raise ValidationError(
                    "The private key is encrypted: give its passphrase", "ssh.passphrase"
                ) from None
            except ValueError as exc:
                if "bad decrypt" in str(exc).lower() or "incorrect password" in str(exc).lower():
                    raise ValidationError(
                        "The passphrase does not open this private key", "ssh.passphrase"
                    ) from None
            except Exception:  # noqa: BLE001 - any other parser failure means "not a key"
                pass
    raise ValidationError("ssh.private_key is not a valid private key", "ssh.private_key")


def _secret_object(data: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    value = data.get(field)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{field} must be an object", field)
    return value


def _sealed_secret(key_type: str, data: Mapping[str, Any]) -> str | None:
    """Validate the secret for the type and return it sealed (None for `none`)."""
    if key_type == "ssh":
        ssh = _secret_object(data, "ssh")
        private_key = v.string(ssh, "private_key", max_length=MAX_SECRET, strip=False) or ""
        if not private_key.strip():
            raise ValidationError("ssh.private_key is required", "ssh.private_key")
        passphrase = v.string(ssh, "passphrase", max_length=1024, strip=False) or ""
        check_private_key(private_key, passphrase)
        secret = {
            "login": v.string(ssh, "login", default="") or "",
            "private_key": private_key,
            "passphrase": passphrase,
        }
    elif key_type == "login_password":
        pair = _secret_object(data, "login_password")
        password = v.string(pair, "password", max_length=MAX_SECRET, strip=False) or ""
        if not password:
            raise ValidationError("login_password.password is required", "login_password.password")
        secret = {"login": v.string(pair, "login", default="") or "", "password": password}
    else:
        return None
    return seal_secret(json.dumps(secret))


def _key_type(data: Mapping[str, Any]) -> str:
    key_type = v.string(data, "type", required=True, max_length=32)
    if key_type not in USER_KEY_TYPES:
        raise ValidationError(f"type must be one of {', '.join(USER_KEY_TYPES)}", "type")
    return key_type


def list_keys(
    access: ProjectAccess,
    sort: str | None = None,
    order: str | None = None,
    key_type: str | None = None,
) -> list[AccessKey]:
    """The project's keys, without the ones environments own for their secrets."""
    query = select(AccessKey).where(
        AccessKey.project_id == access.project_id, AccessKey.environment_id.is_(None)
    )
    if key_type:
        query = query.where(AccessKey.type == key_type)
    query = listing.sorted_query(query, SORTS, sort, order, "name", AccessKey.id)
    return list(db.session.scalars(query))


def get_key(access: ProjectAccess, key_id: int) -> AccessKey:
    key = get_in_project(AccessKey, key_id, access.project_id, "Access key")
    if key.environment_id is not None:
        raise ValidationError("This key belongs to an environment")
    return key


def create_key(access: ProjectAccess, data: Mapping[str, Any]) -> AccessKey:
    """A new key (managers, owners, admins)."""
    access.require(MANAGE_RESOURCES)
    v.require_mapping(data)
    check_body_ids(access, data, "Key", None)
    key_type = _key_type(data)
    key = AccessKey(
        name=v.string(data, "name", required=True),
        type=key_type,
        project_id=access.project_id,
        secret=_sealed_secret(key_type, data),
    )
    db.session.add(key)
    db.session.flush()
    events.record(access, "key", key.id, f"Access Key {key.name} created")
    db.session.commit()
    return key


def update_key(access: ProjectAccess, key_id: int, data: Mapping[str, Any]) -> AccessKey:
    """Rename a key; replace its type and secret only when override_secret is true."""
    access.require(MANAGE_RESOURCES)
    v.require_mapping(data)
    key = get_key(access, key_id)
    check_body_ids(access, data, "Key", key_id)
    key.name = v.string(data, "name", required=True)
    if v.boolean(data, "override_secret", default=False):
        key.type = _key_type(data)
        key.secret = _sealed_secret(key.type, data)
    events.record(access, "key", key.id, f"Access Key {key.name} updated")
    db.session.commit()
    return key


def key_refs(access: ProjectAccess, key_id: int) -> dict[str, list[dict]]:
    """What uses the key: repositories, inventories, templates (vaults) and integrations.

    Raises:
        NotFound: no such key in this project.
    """
    get_key(access, key_id)
    return referrers(
        repositories=select(Repository.id, Repository.name).where(Repository.ssh_key_id == key_id),
        inventories=select(Inventory.id, Inventory.name).where(
            (Inventory.ssh_key_id == key_id) | (Inventory.become_key_id == key_id)
        ),
        templates=select(Template.id, Template.name)
        .join(TemplateVault, TemplateVault.template_id == Template.id)
        .where(TemplateVault.vault_key_id == key_id),
        integrations=select(Integration.id, Integration.name).where(
            Integration.auth_secret_id == key_id
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
