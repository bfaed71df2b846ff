"""The whole path for Ansible: keys, vaults, inventory and environment stored through the
services (secrets sealed in the database), a task started through the API, the RQ job running
real ansible-playbook against the loopback sshd, and the stored output scanned for secrets."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import run_task
from semaphore.models import Task
from semaphore.services import environments, keys
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.engine.test_ansible import (  # noqa: F401 - fixtures used by name
    ANSI,
    VAULT_PASSWORDS,
    hosts_ini,
    playbook_repo,
    vaulted_files,
)

pytestmark = pytest.mark.single_db


def test_an_ansible_task_from_the_api_to_its_stored_output(
    app,
    playbook_repo,  # noqa: F811 - the fixture imported above, requested by name
    sshd,
    ssh_keys,
    tmp_path,
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    access = project_access(owner, project.id)
    private_key = ssh_keys["locked"]
    ssh_key = keys.create_key(
        access,
        {
            "name": "root",
            "type": "ssh",
            "ssh": {
                "login": "root",
                "private_key": private_key.private,
                "passphrase": private_key.passphrase,
            },
        },
    )
    vault_keys = {
        name: keys.create_key(
            access,
            {"name": f"vault {name}", "type": "login_password",
             "login_password": {"password": password}},
        )
        for name, password in VAULT_PASSWORDS.items()
    }  # fmt: skip
    repository = factories.repository(
        project=project, git_url=playbook_repo.url, git_branch="main", ssh_key_id=ssh_key.id
    )
    inventory = factories.inventory(
        project=project, type="static", inventory=hosts_ini(sshd.port), ssh_key_id=ssh_key.id
    )
    marker = tmp_path / "marker"
    environment = environments.create_environment(
        access,
        {
            "name": "prod",
            "json": json.dumps({"greeting": "hello", "marker": str(marker)}),
            "env": json.dumps(
                {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPath=none",
                 "ANSIBLE_PIPELINING": "1"}
            ),
            "secrets": [{"type": "var", "name": "db_password", "secret": "env-secret-value",
                         "operation": "create"}],
        },
    )  # fmt: skip
    template = factories.template(
        project=project,
        app="ansible",
        playbook="site.yml",
        repository_id=repository.id,
        inventory_id=inventory.id,
        environment_id=environment.id,
    )
    client = factories.api_client(app, owner)
    vaults = [{"name": name, "vault_key_id": key.id} for name, key in vault_keys.items()]
    body = {"name": template.name, "app": "ansible", "playbook": "site.yml",
            "repository_id": repository.id, "inventory_id": inventory.id,
            "environment_id": environment.id, "vaults": vaults}  # fmt: skip
    assert (
        client.put(f"/api/project/{project.id}/templates/{template.id}", json=body).status_code
        == 204
    )
    response = client.post(
        f"/api/project/{project.id}/tasks",
        json={
            "template_id": template.id,
            "environment": json.dumps({"survey_choice": "blue"}),
            "secret": json.dumps({"secret_answer": "survey-secret-value"}),
            "limit": "target-a",
        },
    )
    assert response.status_code == 201
    task_id = response.get_json()["id"]

    runtime.set_app(app)
    run_task(task_id)  # what the worker runs for this job

    db.session.expire_all()
    task = db.session.get(Task, task_id)
    output = "\n".join(ANSI.sub("", line.output) for line in task_output.read_lines(task_id))
    assert task.status == "success", output
    assert "remote says target-a hello" in output
    assert "target-b" not in output  # --limit
    assert "vaults prod-vault-value dev-vault-value survey=blue" in output
    assert marker.exists()
    secrets = [
        "env-secret-value",
        "survey-secret-value",
        private_key.passphrase,
        *VAULT_PASSWORDS.values(),
        *[line for line in private_key.private.splitlines() if not line.startswith("-----")],
    ]
    leaked = [secret for secret in secrets if secret and secret in output]
    assert leaked == []
    assert task.secret is None  # the run's secret values are gone once it is over
    assert db.session.scalar(select(Task.commit_hash).where(Task.id == task_id))
