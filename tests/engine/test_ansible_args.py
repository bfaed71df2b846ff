"""ansible-playbook's argv and environment, exactly as REFERENCE.md §3 lists them."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from semaphore.engine.apps.ansible import AnsibleApp, fixed_env, playbook_args
from semaphore.engine.apps.base import RunContext
from semaphore.engine.errors import EngineError
from semaphore.engine.spec import (
    Credential,
    EngineSettings,
    EnvironmentSpec,
    EnvSecret,
    InventorySpec,
    VaultSpec,
)
from semaphore.engine.workspace import Workspace
from tests.engine.conftest import task

pytestmark = pytest.mark.single_db

INVENTORY = InventorySpec(id=4, type="static", inventory="[web]\nhost\n")


@pytest.fixture
def make_context(settings: EngineSettings, tmp_path: Path) -> Iterator[Callable[..., RunContext]]:
    """make_context(spec, settings=None) -> a RunContext as the runner builds it; cleaned up."""
    workspaces: list[Workspace] = []

    def make(spec, custom: EngineSettings | None = None) -> RunContext:
        chosen = custom or settings
        workspace = Workspace(chosen.tmp_path, spec.task_id).open()
        workspaces.append(workspace)
        return RunContext(
            spec=spec,
            settings=chosen,
            workspace=workspace,
            checkout=tmp_path / "checkout",
            log=lambda text: None,
            execute=lambda command, observe: None,
            set_status=lambda status: None,
            confirm=lambda: False,
            inventory_path="/srv/tmp/inventory_1",
            socket_dir=workspace.socket_dir(),
        )

    yield make
    for workspace in workspaces:
        workspace.cleanup()


def test_the_smallest_command_line(make_context) -> None:
    spec = task("/srv/repo", app="ansible", script="site.yml", inventory=INVENTORY)
    args, prompts = playbook_args(make_context(spec))
    details = '{"semaphore_vars":{"task_details":{"id":1,"url":null,"username":""}}}'
    assert args == ["-i", "/srv/tmp/inventory_1", "--extra-vars", details, "site.yml"]
    assert prompts == {}


def test_every_option_in_the_originals_order(make_context) -> None:
    inventory = replace(
        INVENTORY,
        ssh_key=Credential("login_password", login="root", password="ssh-pw"),
        become_key=Credential("login_password", login="admin", password="become-pw"),
    )
    environment = EnvironmentSpec(
        # Merged by the caller: the environments' variables, then the task's values over them.
        json={"b": 1.0, "a": "<env>", "over": "task", "survey": "x"},
        secrets=[EnvSecret("var", "db_password", "hunter2"), EnvSecret("env", "TOKEN", "t0k")],
    )
    spec = task(
        "/srv/repo",
        app="ansible",
        script="site.yml",
        inventory=inventory,
        environment=environment,
        secret={"api_key": "k3y"},
        debug=True,
        diff=True,
        dry_run=True,
        arguments=["--forks=2"],
        limit="ignored-when-params-have-one",
        params={"limit": ["web", "db"], "tags": ["a", "b"], "skip_tags": ["c"]},
        playbook="other.yml",
        username="alice",
        message="deploy it",
        url="https://semaphore.example/project/1/history?t=1",
        template={
            "arguments": ["-e", "x=1"],
            "allow_override_args_in_task": True,
            "vaults": [VaultSpec("prod", "vault-pw"), VaultSpec("", "other-pw")],
        },
    )
    ctx = make_context(spec)
    args, prompts = playbook_args(ctx)
    directory = ctx.workspace.dir
    extra = (
        '{"a":"\\u003cenv\\u003e","b":1,"over":"task","semaphore_vars":{"task_details":'
        '{"id":1,"message":"deploy it","url":"https://semaphore.example/project/1/history?t=1",'
        '"username":"alice"}},"survey":"x"}'
    )
    assert args == [
        "-i", "/srv/tmp/inventory_1",
        "--user", "root", "--ask-pass",
        "--become-user", "admin", "--ask-become-pass",
        "-vvvv", "--diff", "--check",
        f"--vault-id=prod@{directory}/vault_0",
        f"--vault-id=default@{directory}/vault_1",
        "--extra-vars", extra,
        "--extra-vars", f"@{directory}/extra_vars_secret.json",
        "-e", "x=1",
        "--forks=2",
        "--limit=web,db", "--tags=a,b", "--skip-tags=c",
        "other.yml",
    ]  # fmt: skip
    assert prompts == {"SSH password:": "ssh-pw", "BECOME password": "become-pw"}
    # The secrets are in 0600 files, never on the command line.
    secret_file = directory / "extra_vars_secret.json"
    assert json.loads(secret_file.read_text()) == {"api_key": "k3y", "db_password": "hunter2"}
    for path in (secret_file, directory / "vault_0", directory / "vault_1"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (directory / "vault_0").read_text() == "vault-pw"
    assert not any(s in " ".join(args) for s in ("hunter2", "k3y", "vault-pw", "ssh-pw"))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_task_arguments_need_the_templates_permission_but_the_limit_does_not(make_context):
    spec = task(
        "/srv/repo",
        app="ansible",
        script="site.yml",
        inventory=INVENTORY,
        arguments=["--forks=2"],
        limit="web",
    )
    args, _ = playbook_args(make_context(spec))
    assert "--forks=2" not in args
    assert args[-2:] == ["--limit=web", "site.yml"]


def test_an_ssh_key_adds_only_the_user(make_context) -> None:
    inventory = replace(INVENTORY, ssh_key=Credential("ssh", login="deploy", private_key="k"))
    spec = task("/srv/repo", app="ansible", script="site.yml", inventory=inventory)
    args, prompts = playbook_args(make_context(spec))
    assert args[:4] == ["-i", "/srv/tmp/inventory_1", "--user", "deploy"]
    assert "--private-key" not in " ".join(args) and prompts == {}


@pytest.mark.parametrize(
    ("field", "key", "message"),
    [
        ("ssh_key", Credential("string", string="x"), "user credentials"),
        ("become_key", Credential("ssh", private_key="k"), "sudo user credentials"),
    ],
)
def test_keys_the_inventory_cannot_use_fail(make_context, field, key, message) -> None:
    spec = task(
        "/srv/repo",
        app="ansible",
        script="site.yml",
        inventory=replace(INVENTORY, **{field: key}),
    )
    with pytest.raises(EngineError, match=message):
        playbook_args(make_context(spec))


def test_a_build_template_adds_its_versions(make_context) -> None:
    spec = task(
        "/srv/repo",
        app="ansible",
        script="site.yml",
        inventory=INVENTORY,
        template={"type": "build"},
        version="1.0.3",
        incoming_version="1.0.2",
    )
    ctx = make_context(spec)
    args, _ = playbook_args(ctx)
    details = json.loads(args[args.index("--extra-vars") + 1])["semaphore_vars"]["task_details"]
    assert details["type"] == "build"
    assert details["target_version"] == "1.0.3"
    assert details["incoming_version"] == "1.0.2"
    env = ctx.process_env(ctx.checkout)
    assert env["SEMAPHORE_TASK_TYPE"] == "build"
    assert env["SEMAPHORE_TASK_TARGET_VERSION"] == "1.0.3"
    assert env["SEMAPHORE_TASK_INCOMING_VERSION"] == "1.0.2"


def test_the_environment_is_layered_in_the_originals_order(make_context, settings) -> None:
    settings = replace(
        settings,
        server_env={"PATH": "/usr/bin:/bin", "HTTP_PROXY": "http://proxy", "SECRET_SERVER": "no"},
        forwarded_env_vars=("HTTP_PROXY", "UNSET_ONE"),
        env_vars={"FROM_CONFIG": "1", "HOME": "overridden below"},
    )
    environment = EnvironmentSpec(
        env={"FROM_ENV": "yes", "FROM_CONFIG": "2"}, secrets=[EnvSecret("env", "TOKEN", "t")]
    )
    spec = task(
        "/srv/repo",
        app="ansible",
        script="site.yml",
        inventory=INVENTORY,
        environment=environment,
    )
    ctx = make_context(spec, settings)
    ctx.inventory_env = {"SSH_AUTH_SOCK": "/tmp/agent.sock"}
    env = ctx.process_env(ctx.checkout, fixed=fixed_env(ctx))
    assert env == {
        "PYTHONUNBUFFERED": "1",
        "ANSIBLE_FORCE_COLOR": "True",
        "PATH": "/usr/bin:/bin",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(ctx.socket_dir / "cp"),
        "HTTP_PROXY": "http://proxy",
        "FROM_CONFIG": "2",
        "HOME": settings.tmp_path,
        "PWD": str(ctx.checkout),
        "FROM_ENV": "yes",
        "TOKEN": "t",
        "SSH_AUTH_SOCK": "/tmp/agent.sock",
    }
    galaxy = AnsibleApp().galaxy_env(ctx)
    assert "FROM_ENV" not in galaxy and "TOKEN" not in galaxy and "SSH_AUTH_SOCK" not in galaxy
    assert galaxy["FROM_CONFIG"] == "1" and galaxy["PATH"] == "/usr/bin:/bin"
