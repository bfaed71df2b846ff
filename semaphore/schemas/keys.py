"""An access key: what a request gives and what the API shows.

A key's secret is read for its type only: an `ssh` object on a `login_password` key is ignored,
as it always was. An update reads the type and secret only with `override_secret: true`, and
checks the name first, so the two bodies are two models with the same fields. No answer carries
a secret: the original shows every secret field empty, and the output models can hold nothing
else.

`Text` is a generic string field (our length, required and trimming rules) that the other
resources' schemas share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from pydantic import (
    Field,
    SkipValidation,
    field_validator,
    model_validator,
)

from semaphore.schemas.base import (
    InputModel,
    JsonBool,
    JsonInt,
    Name,
    OutputModel,
    Text,
    invalid,
    list_of,
)

USER_KEY_TYPES = ("none", "ssh", "login_password")
MAX_SECRET = 64 * 1024
MAX_PASSPHRASE = 1024
# The objects that hold a secret, each named as the key type it belongs to.
SECRET_OBJECTS = ("ssh", "login_password")


KeyType = Text(32, required=True)
Login = Text()
PrivateKey = Text(MAX_SECRET, strip=False)
Passphrase = Text(MAX_PASSPHRASE, strip=False)
Password = Text(MAX_SECRET, required=True, strip=False)


class KeySshIn(InputModel):
    """The secret of an `ssh` key. The fields are checked in the order the service always
    checked them; whether the key opens is checked by the key's model."""

    private_key: PrivateKey
    passphrase: Passphrase = ""
    login: Login = ""

    @field_validator("private_key")
    @classmethod
    def _private_key(cls, private_key: str) -> str:
        if not private_key.strip():
            raise invalid("is required")
        return private_key


class KeyLoginPasswordIn(InputModel):
    """The secret of a `login_password` key; the password is kept as given, spaces too."""

    password: Password
    login: Login = ""


def private_key_problem(private_key: str, passphrase: str) -> tuple[str, str] | None:
    """(message, field) when the private key does not parse (OpenSSH or PEM) or the
    passphrase does not open it; None when it opens."""
    data = private_key.strip().encode() + b"\n"
    password = passphrase.encode() or None
    for loader in (serialization.load_ssh_private_key, serialization.load_pem_private_key):
        for attempt in (password, None) if password else (None,):
            try:
                loader(data, attempt)
                return None
            except TypeError as exc:
                if "not encrypted" in str(exc):
                    continue
                return "The private key is encrypted: give its passphrase", "ssh.passphrase"
            except ValueError as exc:
                if "bad decrypt" in str(exc).lower() or "incorrect password" in str(exc).lower():
                    return "The passphrase does not open this private key", "ssh.passphrase"
            except Exception:  # noqa: BLE001 - any other parser failure means "not a key"
                pass
    return "ssh.private_key is not a valid private key", "ssh.private_key"


def _only_the_types_secret(data: Any, reads_secret: bool) -> Any:
    """The body without the secret objects its type does not read (all of them, and the type,
    when it reads no secret); an absent object of its type is an empty one, so that the error
    names the required field in it."""
    if not isinstance(data, Mapping):
        return data
    kept = {key: value for key, value in data.items() if key not in SECRET_OBJECTS}
    if not reads_secret:
        kept.pop("type", None)
        return kept
    kind = data.get("type")
    kind = kind.strip() if isinstance(kind, str) else None
    if kind in SECRET_OBJECTS:
        kept[kind] = data.get(kind, {})
    return kept


def _opens(ssh: KeySshIn | None) -> None:
    problem = ssh and private_key_problem(ssh.private_key, ssh.passphrase)
    if problem:
        raise invalid(*problem)


def _secret(ssh: KeySshIn | None, pair: KeyLoginPasswordIn | None) -> dict[str, str] | None:
    if ssh is not None:
        return {"login": ssh.login, "private_key": ssh.private_key, "passphrase": ssh.passphrase}
    if pair is not None:
        return {"login": pair.login, "password": pair.password}
    return None


def _user_key_type(key_type: str) -> str:
    if key_type not in USER_KEY_TYPES:
        raise invalid(f"type must be one of {', '.join(USER_KEY_TYPES)}")
    return key_type


class KeyIn(InputModel):
    """POST …/keys: the type is checked before the name, then the type's secret."""

    # The original's body carries the ids too; the service checks they match the URL's.
    id: JsonInt | None = None
    project_id: JsonInt | None = None
    type: KeyType
    name: Name
    ssh: KeySshIn | None = None
    login_password: KeyLoginPasswordIn | None = None
    # Only an update reads it; a create ignores it, whatever it holds.
    override_secret: SkipValidation[bool] = False

    @field_validator("type")
    @classmethod
    def _type(cls, key_type: str) -> str:
        return _user_key_type(key_type)

    @model_validator(mode="before")
    @classmethod
    def _secret_of_the_type(cls, data: Any) -> Any:
        return _only_the_types_secret(data, reads_secret=True)

    @model_validator(mode="after")
    def _private_key_opens(self) -> KeyIn:
        _opens(self.ssh)
        return self

    def secret(self) -> dict[str, str] | None:
        """The secret to seal (None for a `none` key)."""
        return _secret(self.ssh, self.login_password)


class KeyUpdateIn(InputModel):
    """PUT …/keys/{id}: the name, then the type and secret only with override_secret."""

    id: JsonInt | None = None
    project_id: JsonInt | None = None
    name: Name
    override_secret: JsonBool = False
    type: KeyType | None = None
    ssh: KeySshIn | None = None
    login_password: KeyLoginPasswordIn | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, key_type: str) -> str:
        return _user_key_type(key_type)

    @model_validator(mode="before")
    @classmethod
    def _secret_of_the_type(cls, data: Any) -> Any:
        reads = isinstance(data, Mapping) and data.get("override_secret") is True
        return _only_the_types_secret(data, reads_secret=reads)

    @model_validator(mode="after")
    def _type_and_secret(self) -> KeyUpdateIn:
        if self.override_secret and self.type is None:
            raise invalid("type is required", "type")
        _opens(self.ssh)
        return self

    def secret(self) -> dict[str, str] | None:
        """The secret to seal (None for a `none` key)."""
        return _secret(self.ssh, self.login_password)


class KeySshOut(OutputModel):
    """Always empty: the original shows the fields, never their values."""

    login: Literal[""] = ""
    passphrase: Literal[""] = ""
    private_key: Literal[""] = ""


class KeyLoginPasswordOut(OutputModel):
    """Always empty, as KeySshOut."""

    login: Literal[""] = ""
    password: Literal[""] = ""


class KeyOut(OutputModel):
    """A key as the original shows it: its secret fields present and empty."""

    id: int
    name: str
    type: str
    project_id: int | None
    ssh: KeySshOut = Field(default_factory=KeySshOut)
    login_password: KeyLoginPasswordOut = Field(default_factory=KeyLoginPasswordOut)
    override_secret: Literal[False] = False


class KeyListItem(KeyOut):
    """A key in the list: `empty: true` when it holds no secret, absent otherwise."""

    empty: bool = Field(default=False, exclude_if=lambda empty: not empty)

    @classmethod
    def of(cls, row: Any, *, empty: bool) -> KeyListItem:
        """The row, marked empty or not (the service knows; the model never sees the secret)."""
        return cls.model_validate(row).model_copy(update={"empty": empty})


KeyList = list_of(KeyListItem)
