"""Reading a task and everything it uses from the database into the engine's plain TaskSpec.

Secrets are decrypted here, inside the worker, and only here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from semaphore.config import current_config
from semaphore.engine.spec import (
    Credential,
    EnvironmentSpec,
    EnvSecret,
    InventorySpec,
    RepositorySpec,
    TaskSpec,
    TemplateSpec,
    VaultSpec,
    duration_limit,
)
from semaphore.extensions import db
from semaphore.models import AccessKey, Inventory, Repository, Task, Template, User
from semaphore.models.task import incoming_version
from semaphore.security.crypto import unseal
from semaphore.services import environments, keys, templates
from semaphore.services.validation import parse_json_text


def _json(text: str | None, default: Any) -> Any:
    value = parse_json_text(text, default=default) if text else default
    return value if isinstance(value, type(default)) else default


def _credential(key_id: int | None) -> Credential | None:
    key = db.session.get(AccessKey, key_id) if key_id else None
    if key is None:
        return None
    return Credential(id=key.id, **dataclasses.asdict(keys.read_secret(key)))


def _repository(repository_id: int | None) -> RepositorySpec | None:
    repository = db.session.get(Repository, repository_id) if repository_id else None
    if repository is None:
        return None
    return RepositorySpec(
        id=repository.id,
        url=repository.git_url,
        branch=repository.git_branch or "",
        credential=_credential(repository.ssh_key_id),
    )


def _inventory(inventory_id: int | None) -> InventorySpec | None:
    inventory = db.session.get(Inventory, inventory_id) if inventory_id else None
    if inventory is None:
        return None
    return InventorySpec(
        id=inventory.id,
        type=inventory.type,
        inventory=inventory.inventory or "",
        ssh_key=_credential(inventory.ssh_key_id),
        become_key=_credential(inventory.become_key_id),
        repository=_repository(inventory.repository_id),
    )


def _environment(template: Template, task: Task) -> EnvironmentSpec:
    """The run's variables: the template's environments merged, then the task's values."""
    merged = environments.run_environment(
        templates.environment_ids(template), _json(task.environment, {})
    )
    return EnvironmentSpec(
        json=merged.variables,
        env={str(k): str(v) for k, v in merged.env.items()},
        secrets=[EnvSecret(kind, name, value) for kind, name, value in merged.secrets],
    )


def _template(template: Template) -> TemplateSpec:
    vaults = []
    for vault in templates.template_vaults(template):
        credential = _credential(vault.vault_key_id)
        vaults.append(
            VaultSpec(
                name=vault.name or "",
                password=credential.password if credential else "",
                script=vault.script or "" if vault.type == "script" else "",
            )
        )
    params = (templates.task_params(template) or {}).get("params") or {}
    return TemplateSpec(
        id=template.id,
        app=template.app,
        playbook=template.playbook,
        arguments=_json(template.arguments, []),
        allow_override_args_in_task=template.allow_override_args_in_task,
        type=template.type,
        git_branch=template.git_branch or "",
        vaults=vaults,
        auto_approve=bool(params.get("auto_approve")),
    )


def build_spec(task: Task) -> TaskSpec:
    """The engine's view of a task (DecryptionError when a secret cannot be opened)."""
    template = db.session.get(Template, task.template_id)
    user = db.session.get(User, task.user_id) if task.user_id else None
    secret = (
        _json(unseal(task.secret, current_config().secret_bytes("access_key_encryption")), {})
        if task.secret
        else {}
    )
    max_duration_sec, max_duration_source = duration_limit(
        template.max_task_duration_sec, current_config().max_task_duration_sec
    )
    return TaskSpec(
        task_id=task.id,
        project_id=task.project_id,
        template=_template(template),
        repository=_repository(template.repository_id),
        inventory=_inventory(task.inventory_id or template.inventory_id),
        # Without an environment of its own a template still takes the task's survey values
        # (the original refuses such a task).
        environment=_environment(template, task),
        playbook=task.playbook or "",
        secret=secret,
        arguments=_json(task.arguments, []),
        # The task's branch counts only when the template lets tasks choose one.
        git_branch=(task.git_branch or "") if template.allow_override_branch_in_task else "",
        commit_hash=task.commit_hash or "",
        limit=task.limit or "",
        debug=task.debug,
        dry_run=task.dry_run,
        diff=task.diff,
        params=task.params if isinstance(task.params, dict) else {},
        username=user.username if user else "",
        message=task.message or "",
        version=task.version,
        incoming_version=incoming_version(db.session, task),
        max_duration_sec=max_duration_sec,
        max_duration_source=max_duration_source,
    )
