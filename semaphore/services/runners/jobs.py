"""What a runner receives for each of its new jobs, in the original's JobData shape.

This is the one place a runner's secrets leave the server: the task's secret survey values
and the decrypted access keys go only into the answer to the runner's own authenticated
poll (services.runners.protocol.poll), never into a log.

Built: `Username`, `IncomingVersion`, `task` (with its `secret` values), `template` (without
`last_task`), `inventory`, `inventory_repository`, `repository`, and the `access_keys` they
use (inventory key and become key, the inventory's and the template's repository keys, the
template's vault keys), and `environment`: the original sends one Environment with its
secrets; ours is the run's merged one (the template's environments, then the task's values),
in that shape, with no id. Not built: the original's newer `Alias`.

Ours, added: `spec`, the engine's whole TaskSpec (services.tasks.run_spec, the rule a worker
runs by too), with its secrets, so that our runner runs exactly what a worker would.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from semaphore.config import current_config
from semaphore.engine.spec import EnvironmentSpec
from semaphore.extensions import db
from semaphore.models import AccessKey, Inventory, Repository, Task, Template, User
from semaphore.models.task import incoming_version
from semaphore.schemas.inventories import InventoryOut
from semaphore.schemas.repositories import RepositoryOut
from semaphore.schemas.tasks import TaskOut
from semaphore.schemas.templates import TemplateOut
from semaphore.security.crypto import unseal
from semaphore.services import keys, templates
from semaphore.services.tasks.run_spec import build_spec


def job_data(task: Task, access_keys: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One new job for its runner; adds the keys it uses to `access_keys` (by id, as text).

    Raises:
        DecryptionError: a secret was sealed with another access_key_encryption.
    """
    template = db.session.get(Template, task.template_id)
    user = db.session.get(User, task.user_id) if task.user_id else None
    username = user.username if user else None
    inventory_id = task.inventory_id or template.inventory_id
    inventory = db.session.get(Inventory, inventory_id) if inventory_id else None
    inventory_repository = _repository(inventory.repository_id if inventory else None)
    repository = _repository(template.repository_id)

    key_ids = [vault.vault_key_id for vault in templates.template_vaults(template)]
    if inventory is not None:
        key_ids += [inventory.ssh_key_id, inventory.become_key_id]
    for repo in (inventory_repository, repository):
        if repo is not None:
            key_ids.append(repo.ssh_key_id)
    for key_id in key_ids:
        if key_id is not None and str(key_id) not in access_keys:
            key = db.session.get(AccessKey, key_id)
            if key is not None:
                access_keys[str(key_id)] = _access_key(key)

    spec = build_spec(task)
    return {
        "Username": username or "",
        "IncomingVersion": incoming_version(db.session, task),
        "task": TaskOut.of(task, template, username, secret=_secret(task)),
        "template": _template(template),
        "inventory": InventoryOut.dump(inventory) if inventory else None,
        "inventory_repository": RepositoryOut.dump(inventory_repository)
        if inventory_repository
        else None,
        "repository": RepositoryOut.dump(repository) if repository else None,
        "environment": _environment(spec.environment, task.project_id),
        "spec": dataclasses.asdict(spec),
    }


def _environment(environment: EnvironmentSpec | None, project_id: int) -> dict[str, Any]:
    """The run's environment in the original's Environment shape (JSON texts, secrets)."""
    environment = environment or EnvironmentSpec()
    return {
        "id": 0,
        "name": "",
        "project_id": project_id,
        "password": None,
        "json": json.dumps(dict(environment.json)),
        "env": json.dumps(dict(environment.env)),
        "secrets": [
            {"id": 0, "name": secret.name, "type": secret.type, "secret": secret.value}
            for secret in environment.secrets
        ],
    }


def _repository(repository_id: int | None) -> Repository | None:
    return db.session.get(Repository, repository_id) if repository_id else None


def _secret(task: Task) -> str:
    """The task's secret survey values (a JSON object as text), "" when it has none."""
    if not task.secret:
        return ""
    return unseal(task.secret, current_config().secret_bytes("access_key_encryption"))


def _template(template: Template) -> dict[str, Any]:
    """The template as TemplateOut shows it, without `last_task`, which a run does not use."""
    shown = TemplateOut.dump({**templates.shown_fields([template])[0], "last_task": None})
    del shown["last_task"]
    return shown


def _access_key(key: AccessKey) -> dict[str, Any]:
    """A key with its secret in the clear: the original's AccessKey after DeserializeSecret."""
    secret = keys.read_secret(key)
    return {
        "id": key.id,
        "name": key.name,
        "type": key.type,
        "project_id": key.project_id,
        "string": secret.string,
        "login_password": {"login": secret.login, "password": secret.password},
        "ssh": {
            "login": secret.login,
            "passphrase": secret.passphrase,
            "private_key": secret.private_key,
        },
        "override_secret": False,
    }
