"""Real ansible-playbook runs: a playbook from a git repository against the loopback sshd."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from semaphore.engine.spec import (
    Credential,
    EnvironmentSpec,
    EnvSecret,
    InventorySpec,
    RepositorySpec,
    VaultSpec,
)
from tests.engine.conftest import leftovers, run_task, task

pytestmark = pytest.mark.single_db

ANSI = re.compile(r"\x1b\[[0-9;]*m")
VAULT_PASSWORDS = {"prod": "prod vault password", "dev": "dev vault password"}

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars_files:
    - vars/prod.yml
    - vars/dev.yml
  tasks:
    - name: remote command
      ansible.builtin.command: echo "remote says {{ inventory_hostname }} {{ greeting }}"
      register: remote
      changed_when: false
      check_mode: false
      tags: [greet]
    - ansible.builtin.debug:
        msg: "{{ remote.stdout }}"
      tags: [greet]
    - ansible.builtin.debug:
        msg: >-
          vaults {{ prod_value }} {{ dev_value }} survey={{ survey_choice }}
          secret={{ secret_answer }} envsecret={{ db_password }}
      tags: [vars]
    - name: touch marker
      ansible.builtin.file:
        path: "{{ marker }}"
        state: touch
      tags: [write]
    - ansible.builtin.debug:
        msg: skipped-tag-ran
      tags: [skipme]
"""

FAILING = """\
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.command: /bin/false
"""


def hosts_ini(port: int, names: tuple[str, ...] = ("target-a", "target-b")) -> str:
    common = (
        f"ansible_host=127.0.0.1 ansible_port={port} ansible_python_interpreter=/usr/bin/python3"
        " ansible_ssh_common_args='-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no'"
    )
    return "[targets]\n" + "".join(f"{name} {common}\n" for name in names)


def clean(lines: list[str]) -> str:
    return "\n".join(ANSI.sub("", line) for line in lines)


@pytest.fixture(scope="session")
def vaulted_files() -> dict[str, str]:
    """vars/prod.yml and vars/dev.yml, encrypted as `ansible-vault encrypt --vault-id` does."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    files = {}
    for vault_id, value in (("prod", "prod-vault-value"), ("dev", "dev-vault-value")):
        secret = VaultSecret(VAULT_PASSWORDS[vault_id].encode())
        text = f"{vault_id}_value: {value}\n".encode()
        files[f"vars/{vault_id}.yml"] = (
            VaultLib([(vault_id, secret)]).encrypt(text, secret, vault_id=vault_id).decode()
        )
    return files


@pytest.fixture
def playbook_repo(make_repo, vaulted_files: dict[str, str]):
    """A repository with site.yml, fail.yml and two vault-encrypted variable files."""
    return make_repo({"site.yml": PLAYBOOK, "fail.yml": FAILING, **vaulted_files})


def environment(marker: Path) -> EnvironmentSpec:
    return EnvironmentSpec(
        # The run's merged variables: the environment's, with a survey answer among them.
        json={"greeting": "hello", "marker": str(marker), "survey_choice": "blue"},
        # No ssh connection reuse between runs: a keyless run must not ride on an earlier one
        # (STACK-NOTES.md, ansible traps). Pipelining wins the speed back.
        env={
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPath=none",
            "ANSIBLE_PIPELINING": "1",
        },
        secrets=[EnvSecret("var", "db_password", "env-secret-value")],
    )


def ansible_task(repo_url: str, inventory: InventorySpec, marker: Path, **fields):
    vaults = [VaultSpec(name, password) for name, password in VAULT_PASSWORDS.items()]
    return task(
        repo_url,
        app="ansible",
        script="site.yml",
        inventory=inventory,
        environment=environment(marker),
        secret={"secret_answer": "survey-secret-value"},
        template={"vaults": vaults},
        **fields,
    )


def test_playbook_with_key_vaults_limit_tags_and_extra_vars(
    playbook_repo, settings, sshd, ssh_keys, tmp_path
) -> None:
    marker = tmp_path / "marker"
    key = Credential("ssh", id=21, login="root", private_key=ssh_keys["good"].private)
    inventory = InventorySpec(id=4, type="static", inventory=hosts_ini(sshd.port), ssh_key=key)
    spec = ansible_task(
        playbook_repo.url,
        inventory,
        marker,
        params={"limit": ["target-a"], "tags": ["greet", "vars", "write", "skipme"]}
        | {"skip_tags": ["skipme"]},
    )
    run = run_task(spec, settings)
    output = clean(run.lines)
    assert run.result.status == "success", output
    assert "remote says target-a hello" in output
    assert "target-b" not in output  # --limit
    assert (
        "vaults prod-vault-value dev-vault-value survey=blue secret=******** envsecret=********"
        in output
    )
    assert "skipped-tag-ran" not in output  # --skip-tags
    assert marker.exists()
    assert "survey-secret-value" not in output and "env-secret-value" not in output
    assert leftovers(settings) == []


def test_passphrase_key_and_check_mode(playbook_repo, settings, sshd, ssh_keys, tmp_path) -> None:
    marker = tmp_path / "marker"
    locked = ssh_keys["locked"]
    key = Credential(
        "ssh", id=22, login="root", private_key=locked.private, passphrase=locked.passphrase
    )
    inventory = InventorySpec(
        id=4, type="static-yaml", inventory=_yaml_hosts(sshd.port), ssh_key=key
    )  # one host: --check is what this run is about
    spec = ansible_task(playbook_repo.url, inventory, marker, dry_run=True)
    run = run_task(spec, settings)
    output = clean(run.lines)
    assert run.result.status == "success", output
    assert "remote says target-a hello" in output
    assert re.search(r"changed: \[target-a\]", output)  # the touch, reported only
    assert not marker.exists()  # --check
    assert leftovers(settings) == []


def _yaml_hosts(port: int) -> str:
    return "targets:\n  hosts:\n" + "".join(
        f"    {name}:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n"
        "      ansible_python_interpreter: /usr/bin/python3\n"
        "      ansible_ssh_common_args: '-o UserKnownHostsFile=/dev/null"
        " -o StrictHostKeyChecking=no'\n"
        for name in ("target-a", "target-b")
    )


def test_a_failing_play_with_an_inventory_from_another_repository(
    playbook_repo, make_repo, settings, sshd, ssh_keys, tmp_path
) -> None:
    inventories = make_repo({"hosts/prod.ini": hosts_ini(sshd.port, ("target-c",))})
    key = Credential("ssh", id=21, login="root", private_key=ssh_keys["good"].private)
    inventory = InventorySpec(
        id=4,
        type="file",
        inventory="hosts/prod.ini",
        ssh_key=key,
        repository=RepositorySpec(id=12, url=inventories.url, branch="main"),
    )
    spec = replace(
        ansible_task(playbook_repo.url, inventory, tmp_path / "m"),
        playbook="fail.yml",  # the task's playbook override
    )
    run = run_task(spec, settings)
    output = clean(run.lines)
    assert run.result.status == "error"
    assert "fatal: [target-c]" in output
    assert "failed=1" in output
    assert run.lines[-1] == "Running app failed: exit status 2"
    assert not (Path(settings.tmp_path) / "inventory_1").exists()
    assert leftovers(settings) == []


def test_without_the_key_the_host_is_unreachable(playbook_repo, settings, sshd, tmp_path):
    inventory = InventorySpec(id=4, type="static", inventory=hosts_ini(sshd.port, ("target-a",)))
    run = run_task(ansible_task(playbook_repo.url, inventory, tmp_path / "m"), settings)
    output = clean(run.lines)
    assert run.result.status == "error"
    assert "UNREACHABLE" in output and "Permission denied" in output
