"""task_spec_from_dict: the TaskSpec a runner gets as JSON is the one the server built."""

from __future__ import annotations

import dataclasses
import json

import pytest

from semaphore.engine.spec import (
    Credential,
    EnvironmentSpec,
    EnvSecret,
    InventorySpec,
    RepositorySpec,
    TaskSpec,
    TemplateSpec,
    VaultSpec,
    task_spec_from_dict,
)


def full_spec() -> TaskSpec:
    """A spec with every nested part filled in (and tuples, as the dataclasses keep them)."""
    key = Credential("ssh", 7, login="deploy", private_key="-----KEY-----", passphrase="pp")
    return TaskSpec(
        task_id=12,
        project_id=3,
        template=TemplateSpec(
            id=5,
            app="ansible",
            playbook="site.yml",
            arguments=("--check",),
            allow_override_args_in_task=True,
            type="deploy",
            git_branch="release",
            vaults=(VaultSpec("prod", "vault-pass"), VaultSpec(script="vault.sh")),
            auto_approve=True,
        ),
        repository=RepositorySpec(9, "git@example.com:ops.git", "main", key),
        inventory=InventorySpec(
            id=4,
            type="file",
            inventory="hosts.ini",
            ssh_key=key,
            become_key=Credential("login_password", 8, login="root", password="pw"),
            repository=RepositorySpec(10, "https://example.com/inv.git"),
        ),
        environment=EnvironmentSpec(
            json={"region": "eu", "nested": {"list": [1, 2]}},
            env={"HTTP_PROXY": "http://proxy"},
            secrets=(EnvSecret("env", "TOKEN", "abc"), EnvSecret("var", "db_pass", "xyz")),
        ),
        playbook="other.yml",
        secret={"answer": "42"},
        arguments=("-v",),
        git_branch="feature",
        commit_hash="abc123",
        limit="web",
        debug=True,
        dry_run=True,
        diff=True,
        params={"tags": ["a"], "skip_tags": []},
        username="ann",
        message="deploy it",
        url="https://semaphore.example.com/project/3/history?t=12",
        version="1.2.3",
        incoming_version="1.2.2",
    )


def over_json(spec: TaskSpec) -> dict:
    """What the poll's new job carries: dataclasses.asdict, through JSON."""
    return json.loads(json.dumps(dataclasses.asdict(spec)))


def test_a_spec_survives_the_round_trip():
    spec = full_spec()
    assert task_spec_from_dict(over_json(spec)) == spec


def test_the_smallest_spec_survives_too():
    spec = TaskSpec(task_id=1, project_id=1, template=TemplateSpec(id=1))
    rebuilt = task_spec_from_dict(over_json(spec))
    assert rebuilt == spec and rebuilt.repository is None and rebuilt.template.vaults == ()


def test_lists_become_tuples_and_nested_objects_dataclasses():
    spec = dataclasses.replace(full_spec(), arguments=["-v"])  # as a server may build it
    rebuilt = task_spec_from_dict(over_json(spec))
    assert rebuilt.arguments == ("-v",)
    assert isinstance(rebuilt.template.vaults[0], VaultSpec)
    assert isinstance(rebuilt.environment.secrets[1], EnvSecret)
    assert isinstance(rebuilt.inventory.become_key, Credential)
    assert rebuilt.inventory.repository.credential is None


def test_keys_a_newer_server_adds_are_ignored():
    data = over_json(full_spec())
    data["timeout_sec"] = 60
    data["template"]["runner_tag"] = "gpu"
    data["inventory"]["ssh_key"]["fingerprint"] = "SHA256:x"
    assert task_spec_from_dict(data) == full_spec()


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.pop("template"),
        lambda data: data.update(template="not an object"),
        lambda data: data["template"].update(vaults="not a list"),
        lambda data: data["environment"].update(env=["not", "an", "object"]),
    ],
)
def test_a_malformed_spec_is_a_type_error(change):
    data = over_json(full_spec())
    change(data)
    with pytest.raises(TypeError):
        task_spec_from_dict(data)
