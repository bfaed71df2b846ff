"""What one task run needs, as plain data: no Flask, no ORM, secrets already decrypted.

The RQ job builds a TaskSpec from the database (services.keys.read_secret for each key,
services.environments.secret_values for the environment's secrets) and hands it to
engine.runner.TaskRunner; the engine never reads the database, so it can be tested and
benchmarked without one.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

BUILD = "build"
DEPLOY = "deploy"


@dataclass(frozen=True)
class Credential:
    """A decrypted access key. Field names match services.keys.KeySecret, plus the key's id.

    Build one with `Credential(id=key.id, **dataclasses.asdict(read_secret(key)))`.
    """

    type: str = "none"  # none | ssh | login_password | string
    id: int = 0
    login: str = ""
    password: str = ""
    private_key: str = ""
    passphrase: str = ""
    string: str = ""

    def secret_values(self) -> list[str]:
        """Every value output must never show (the login is not secret)."""
        return [v for v in (self.password, self.private_key, self.passphrase, self.string) if v]


@dataclass(frozen=True)
class RepositorySpec:
    id: int
    url: str
    branch: str = ""
    credential: Credential | None = None


@dataclass(frozen=True)
class InventorySpec:
    """An inventory: `inventory` is INI/YAML text, a file path, or a Terraform workspace name."""

    id: int = 0
    type: str = "static"  # static | static-yaml | file | terraform-workspace
    inventory: str = ""
    ssh_key: Credential | None = None
    become_key: Credential | None = None
    # For `file` inventories kept in another repository (cloned next to the task).
    repository: RepositorySpec | None = None


@dataclass(frozen=True)
class EnvSecret:
    """An environment secret: `var` becomes an extra variable, `env` an environment variable."""

    type: str  # var | env
    name: str
    value: str


@dataclass(frozen=True)
class EnvironmentSpec:
    """A project environment: extra variables, environment variables and secrets."""

    # The run's extra variables, merged already: the template's environments, then the
    # task's own values (survey answers, schedule or integration values), which win.
    json: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: Sequence[EnvSecret] = ()


@dataclass(frozen=True)
class VaultSpec:
    """A vault password (login_password key's password) or a vault client script."""

    name: str = ""  # "" means ansible's `default` vault id
    password: str = ""
    script: str = ""  # 2.16 `script` vaults: a path in the checkout


@dataclass(frozen=True)
class TemplateSpec:
    id: int
    app: str = "ansible"
    playbook: str = ""
    arguments: Sequence[str] = ()
    allow_override_args_in_task: bool = False
    type: str = ""  # "" | build | deploy
    git_branch: str = ""
    vaults: Sequence[VaultSpec] = ()
    # Terraform: apply without waiting for a confirmation (template level, as the original's
    # auto_approve template parameter).
    auto_approve: bool = False


TEMPLATE_LIMIT = "template"
GLOBAL_LIMIT = "global"


def duration_limit(template_sec: int | None, global_sec: int | None) -> tuple[int, str]:
    """A run's wall-time limit: the smaller non-zero of the template's and the server's
    max_task_duration_sec, with the setting it is (TEMPLATE_LIMIT or GLOBAL_LIMIT); (0, "")
    when neither is set. On a tie the template's, the more specific setting, is named."""
    limits = [
        (sec, source)
        for sec, source in ((template_sec, TEMPLATE_LIMIT), (global_sec, GLOBAL_LIMIT))
        if sec
    ]
    return min(limits, key=lambda limit: limit[0]) if limits else (0, "")


@dataclass(frozen=True)
class TaskSpec:
    """One run of a template. Task fields keep the API's names; lists and objects are parsed."""

    task_id: int
    project_id: int
    template: TemplateSpec
    repository: RepositorySpec | None = None
    inventory: InventorySpec | None = None
    environment: EnvironmentSpec | None = None
    # The task's own fields.
    playbook: str = ""  # overrides the template's playbook (ansible)
    secret: Mapping[str, Any] = field(default_factory=dict)  # secret survey values
    arguments: Sequence[str] = ()
    git_branch: str = ""
    commit_hash: str = ""
    limit: str = ""
    debug: bool = False
    dry_run: bool = False
    diff: bool = False
    # 2.16 task params: ansible {limit[], tags[], skip_tags[]}, terraform {plan, destroy,
    # auto_approve, upgrade}.
    params: Mapping[str, Any] = field(default_factory=dict)
    username: str = ""
    message: str = ""
    url: str | None = None  # <web_host>/project/<p>/history?t=<id>, None without web_host
    version: str | None = None  # a build task's target version
    incoming_version: str | None = None  # a deploy task's version, from its build task
    # The run's wall-time limit in seconds (0: none) and the setting it comes from, which the
    # line ending a run over it names: see duration_limit.
    max_duration_sec: int = 0
    max_duration_source: str = ""  # "" | template | global


@dataclass(frozen=True)
class EngineSettings:
    """The part of the server configuration the engine reads."""

    tmp_path: str = "/tmp/semaphore"
    ssh_config_path: str = ""
    apps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    env_vars: Mapping[str, str] = field(default_factory=dict)
    forwarded_env_vars: Sequence[str] = ()
    # The server's own environment: git gets all of it and ansible its PATH, as in the
    # original. Captured once here so that the rest of the engine never reads os.environ.
    server_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # Seconds between SIGTERM to a stopped task's process tree and SIGKILL.
    stop_grace_seconds: float = 10.0
    # Tools run in the bubblewrap sandbox (engine.sandbox) unless the admin turns it off.
    sandbox: bool = True
    # More paths the tools may see: "/path" (read-only) or "/path:rw".
    sandbox_paths: Sequence[str] = ()
    # The server's own files, which no task may see: data directory, config file, database.
    hidden_paths: Sequence[str] = ()
    # A repository may be a local path only under one of these directories.
    local_repository_roots: Sequence[str] = ()

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> EngineSettings:
        """Settings from a semaphore.config.Config (duck-typed: the engine imports no Flask)."""
        values = {
            "tmp_path": config.tmp_path,
            "ssh_config_path": config.ssh_config_path,
            "apps": dict(config.apps),
            "env_vars": dict(config.env_vars),
            "forwarded_env_vars": tuple(config.forwarded_env_vars),
            "sandbox": config.task_sandbox,
            "sandbox_paths": tuple(config.task_sandbox_paths),
            "hidden_paths": server_files(config.data_dir, config.config_file, config.database_url),
            "local_repository_roots": tuple(config.local_repository_roots),
        }
        values.update(overrides)
        return cls(**values)


def server_files(data_dir: str, config_file: str, database_url: str) -> tuple[str, ...]:
    """The server's own files as absolute paths: data directory, config file, SQLite file."""
    paths = [data_dir, config_file]
    if database_url.startswith("sqlite:///"):
        database = database_url.removeprefix("sqlite:///").split("?", 1)[0]
        if database and database != ":memory:":  # sqlite:////abs or sqlite:///relative
            paths += [database + suffix for suffix in ("", "-wal", "-shm", "-journal")]
    return tuple(os.path.abspath(p) for p in paths if p)


@dataclass(frozen=True)
class RunResult:
    """How a run ended. `status` is a final task status: success, error or stopped."""

    status: str
    message: str = ""
    commit_hash: str | None = None
    commit_message: str = ""
    exit_code: int | None = None


def task_spec_from_dict(data: Mapping[str, Any]) -> TaskSpec:
    """A TaskSpec from `dataclasses.asdict(spec)` after a JSON round trip (a remote runner's
    job): nested dataclasses are rebuilt and lists become tuples. Keys this version does not
    know are ignored, so a newer server's extra fields do not break an older runner.

    Raises:
        TypeError: a value has the wrong shape, or a field without a default is missing.
    """
    return _from_dict(TaskSpec, data)


def _from_dict(cls: type[T], data: Any) -> T:
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: _value(hints[name], data[name]) for name in known if name in data})


def _value(hint: Any, value: Any) -> Any:
    """`value` as the field type `hint` wants it (the types TaskSpec's fields use)."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):  # `X | None`
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _value(options[0], value) if len(options) == 1 else value
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value)
    if origin is abc.Sequence:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected an array, got {type(value).__name__}")
        (item,) = typing.get_args(hint)
        return tuple(_value(item, each) for each in value)
    if origin is abc.Mapping:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        return dict(value)
    return value
