"""Secrets: masked in output, never on a command line, and no file of them left behind."""

from __future__ import annotations

import os
import stat
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from semaphore.engine.secrets import MASK, Masker
from semaphore.engine.spec import (
    Credential,
    EnvironmentSpec,
    EnvSecret,
    InventorySpec,
    VaultSpec,
)
from tests.engine.conftest import leftovers, start, task, unique_key_id

pytestmark = pytest.mark.single_db

SECRETS = {
    "ssh_password": "key-pass-4ssh",
    "become_password": "become-pass-9",
    "vault": "vault-pass-77",
    "survey": "survey-secret-31",
    "var": "env-var-secret-42",
    "env": "env-env-secret-53",
}


# --- the Masker -------------------------------------------------------------------------------


def test_every_occurrence_is_masked_longest_first() -> None:
    masker = Masker(["abc", "abcdef", ""])
    assert masker.mask("x abcdef y abc z") == f"x {MASK} y {MASK} z"
    assert masker.mask("nothing here") == "nothing here"


def test_multiline_secrets_are_masked_line_by_line_and_json_escaped() -> None:
    armour = "OPENSSH PRIVATE KEY-----"
    key = f"-----BEGIN {armour}\nAAAAline1\nBBBBline2\n-----END {armour}"
    masker = Masker([key, 'quo"te\\'])
    assert masker.mask("AAAAline1") == MASK
    assert (
        masker.mask("-----BEGIN OPENSSH PRIVATE KEY-----") == "-----BEGIN OPENSSH PRIVATE KEY-----"
    )
    assert masker.mask('"msg": "quo\\"te\\\\"') == f'"msg": "{MASK}"'


def test_objects_are_masked_by_their_scalars() -> None:
    masker = Masker()
    masker.add_object({"a": {"b": ["deep-secret", 12345]}, "flag": True})
    assert masker.mask("deep-secret 12345 True") == f"{MASK} {MASK} True"


# --- a real run -------------------------------------------------------------------------------


def scan_command_lines(values: list[str]) -> list[str]:
    """Every process argv on the machine that contains one of the values."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if any(v.encode() in cmdline for v in values):
            found.append(cmdline.decode(errors="replace"))
    return found


def files_containing(root: Path, values: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(v.encode() in data for v in values):
                found.append(str(path))
    return found


PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "ssh={{ ansible_password }} survey={{ survey_secret }} var={{ var_secret }}"
    - ansible.builtin.debug:
        msg: "env={{ lookup('ansible.builtin.env', 'ENV_SECRET') }} vault={{ vaulted }}"
    - ansible.builtin.command: sleep 31
"""


@pytest.fixture
def secret_repo(make_repo):
    from ansible.parsing.vault import VaultLib, VaultSecret

    secret = VaultSecret(SECRETS["vault"].encode())
    vaulted = VaultLib([("default", secret)]).encrypt(b"vaulted: from-the-vault\n", secret)
    return make_repo(
        {"site.yml": PLAYBOOK + "  vars_files: [vars.yml]\n", "vars.yml": vaulted.decode()}
    )


def test_ansible_secrets_never_reach_argv_output_or_disk(secret_repo, settings) -> None:
    inventory = InventorySpec(
        type="static",
        inventory="local ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n",
        ssh_key=Credential("login_password", login="root", password=SECRETS["ssh_password"]),
        become_key=Credential("login_password", login="root", password=SECRETS["become_password"]),
    )
    spec = task(
        secret_repo.url,
        app="ansible",
        script="site.yml",
        inventory=inventory,
        environment=EnvironmentSpec(
            secrets=[
                EnvSecret("var", "var_secret", SECRETS["var"]),
                EnvSecret("env", "ENV_SECRET", SECRETS["env"]),
            ]
        ),
        secret={"survey_secret": SECRETS["survey"]},
        template={"vaults": [VaultSpec("", SECRETS["vault"])]},
    )
    runner, run = start(spec, settings)
    seen: dict[str, object] = {}

    def inspect_while_running() -> None:
        deadline = time.monotonic() + 30
        while not scan_command_lines(["sleep 31"]):  # the play's last task is running
            if time.monotonic() > deadline:
                runner.stop()
                return
            time.sleep(0.05)
        seen["argv"] = scan_command_lines(list(SECRETS.values()))
        task_dirs = list(Path(settings.tmp_path).glob("task_1_*"))
        seen["dir_mode"] = stat.S_IMODE(task_dirs[0].stat().st_mode)
        seen["file_modes"] = {
            p.name: stat.S_IMODE(p.stat().st_mode) for p in task_dirs[0].iterdir() if p.is_file()
        }
        seen["inventory_mode"] = stat.S_IMODE(
            (Path(settings.tmp_path) / "inventory_1").stat().st_mode
        )
        runner.stop()

    watcher = threading.Thread(target=inspect_while_running)
    watcher.start()
    run.result = runner.run()
    watcher.join()

    assert run.result.status == "stopped", run.output
    assert seen["argv"] == []
    assert seen["dir_mode"] == 0o700
    assert seen["file_modes"] == {"extra_vars_secret.json": 0o600, "vault_0": 0o600}
    assert seen["inventory_mode"] == 0o600
    output = run.output
    assert f"ssh={MASK} survey={MASK} var={MASK}" in output
    assert f"env={MASK} vault=from-the-vault" in output
    assert not any(value in output for value in SECRETS.values())
    assert leftovers(settings) == []
    assert files_containing(Path(settings.tmp_path), list(SECRETS.values())) == []


def test_script_secrets_are_masked_and_off_the_command_line(make_repo, settings) -> None:
    repo = make_repo({"run.sh": 'echo "var=$VAR_SECRET env=$ENV_SECRET"\nsleep 0.5\n'})
    spec = task(
        repo.url,
        environment=EnvironmentSpec(
            secrets=[
                EnvSecret("var", "VAR_SECRET", SECRETS["var"]),
                EnvSecret("env", "ENV_SECRET", SECRETS["env"]),
            ]
        ),
    )
    runner, run = start(spec, settings)
    argv_seen = []

    def scan() -> None:
        while runner.pid is None and run.result.status == "unknown":
            time.sleep(0.01)
        while not run.lines or not run.lines[-1].startswith("var="):
            time.sleep(0.01)
        argv_seen.extend(scan_command_lines([SECRETS["var"], SECRETS["env"]]))

    watcher = threading.Thread(target=scan, daemon=True)
    watcher.start()
    run.result = runner.run()
    watcher.join(timeout=5)
    assert run.result.status == "success", run.output
    assert run.lines[-1] == f"var={MASK} env={MASK}"
    assert argv_seen == []


# --- cleanup in every outcome -----------------------------------------------------------------

TERRAFORM = """#!/bin/sh
case "$1" in
  plan) echo planning; [ "$MODE" = fail ] && exit 1; [ "$MODE" = sleep ] && sleep 30 ;;
esac
exit 0
"""


@pytest.mark.parametrize("mode", ["ok", "fail", "sleep"])
def test_secret_files_and_agents_are_removed_in_every_outcome(
    make_repo, settings, sshd, ssh_keys, tmp_path, mode
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "terraform").write_text(TERRAFORM)
    (fake / "terraform").chmod(0o755)
    settings = replace(
        settings,
        server_env={**settings.server_env, "PATH": f"{fake}:{settings.server_env['PATH']}"},
        env_vars={"MODE": mode},
        stop_grace_seconds=1.0,
    )
    repo = make_repo({"main.tf": "\n"})
    key_id = unique_key_id()
    key = Credential("ssh", id=key_id, private_key=ssh_keys["good"].private)
    spec = task(
        sshd.url(repo.bare),
        app="terraform",
        script="",
        credential=key,
        environment=EnvironmentSpec(secrets=[EnvSecret("var", "pw", SECRETS["var"])]),
        template={"auto_approve": True},
    )
    runner, run = start(spec, settings)
    if mode == "sleep":

        def stop_when_planning() -> None:
            while "planning" not in run.lines:
                time.sleep(0.02)
            runner.stop()

        threading.Thread(target=stop_when_planning, daemon=True).start()
    run.result = runner.run()
    assert run.result.status == {"ok": "success", "fail": "error", "sleep": "stopped"}[mode]
    assert leftovers(settings) == []
    assert files_containing(Path(settings.tmp_path), [SECRETS["var"]]) == []
    assert not list(Path("/tmp").glob(f"sem-*/ssh-agent-{key_id}-*"))
    assert scan_command_lines([f"ssh-agent-{key_id}-"]) == []  # the agent process is gone too
    assert not list(Path(settings.tmp_path).glob(f"**/ssh-agent-{key_id}-*"))
