"""ansible-playbook, with ansible-galaxy requirements first: the original's command line.

Deliberate differences, all about secrets (the argv is otherwise the original's, in its order):
* secret extra variables (the task's secret survey values and the environment's `var` secrets)
  go into a 0600 JSON file passed as `--extra-vars @<file>` where the original puts them on
  the command line, visible to every local user in the process list;
* vault passwords go into 0600 files passed as `--vault-id=<name>@<file>`, where the original
  passes `--vault-id=<name>@prompt` and types them into a PTY;
* the SSH and become passwords answer `--ask-pass` / `--ask-become-pass` prompts typed into a
  pseudo-terminal, as the original does, but the PTY is ansible's stdin only: its output goes
  through pipes like every other command's;
* ssh's ControlPath directory is private to the run (ANSIBLE_SSH_CONTROL_PATH_DIR), so a later
  task cannot ride on a connection this one authenticated.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from semaphore.engine.apps.base import Command, RunContext, go_json
from semaphore.engine.errors import EngineError
from semaphore.engine.spec import Credential

SSH = "ssh"
LOGIN_PASSWORD = "login_password"
NONE = "none"
# The prompt prefixes the original matches ("BECOME password[defaults to SSH password]: " too).
SSH_PROMPT = "SSH password:"
BECOME_PROMPT = "BECOME password"


class AnsibleApp:
    id = "ansible"

    def install_requirements(self, ctx: RunContext) -> None:
        """ansible-galaxy install of collections and roles, skipped when unchanged (by MD5)."""
        playbook_dir = (ctx.checkout / playbook_name(ctx)).parent
        steps = [
            ("collection", playbook_dir / "collections" / "requirements.yml"),
            ("collection", playbook_dir / "requirements.yml"),
            ("role", playbook_dir / "roles" / "requirements.yml"),
            ("role", playbook_dir / "requirements.yml"),
        ]
        # Decide once per file: the original writes <file>.md5 after the collection step, so
        # the role step of a shared requirements.yml is then skipped; here both steps run.
        digests = {path: _changed_digest(ctx, path) for _, path in steps}
        galaxy = ctx.program("ansible-galaxy", "ansible-galaxy")
        env = self.galaxy_env(ctx)
        for kind, path in steps:
            if digests[path] is None:
                continue
            argv = [galaxy, kind, "install", "-r", str(path), "--force"]
            ctx.execute(Command(argv, ctx.checkout, env), None)
        for path, digest in digests.items():
            if digest is not None:
                Path(f"{path}.md5").write_text(digest)

    def run(self, ctx: RunContext) -> None:
        args, answers = playbook_args(ctx)
        program = ctx.program(self.id, "ansible-playbook")
        env = ctx.process_env(ctx.checkout, fixed=fixed_env(ctx))
        ctx.execute(Command([program, *args], ctx.checkout, env, answers=answers or None), None)

    def galaxy_env(self, ctx: RunContext) -> dict[str, str]:
        """ansible-galaxy gets only the fixed and configured variables, as in the original."""
        settings = ctx.settings
        env = fixed_env(ctx)
        env.update(
            {
                n: settings.server_env[n]
                for n in settings.forwarded_env_vars
                if n in settings.server_env
            }
        )
        env.update({k: str(v) for k, v in settings.env_vars.items()})
        env["HOME"] = settings.tmp_path
        env["PWD"] = str(ctx.checkout)
        return env


def fixed_env(ctx: RunContext) -> dict[str, str]:
    env = {
        "PYTHONUNBUFFERED": "1",
        "ANSIBLE_FORCE_COLOR": "True",
        "PATH": ctx.settings.server_env.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
    }
    if ctx.socket_dir is not None:
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(ctx.socket_dir / "cp")
    return env


def playbook_name(ctx: RunContext) -> str:
    return ctx.spec.playbook or ctx.spec.template.playbook


def playbook_args(ctx: RunContext) -> tuple[list[str], dict[str, str]]:
    """ansible-playbook's arguments, and the answers to its password prompts by prompt prefix.

    Raises:
        EngineError: no usable inventory, or a key type the inventory cannot use.
    """
    spec = ctx.spec
    if ctx.inventory_path is None or spec.inventory is None:
        raise EngineError("invalid inventory type")
    args = ["-i", ctx.inventory_path]
    prompts: dict[str, str] = {}
    _user_args(spec.inventory.ssh_key, args, prompts)
    _become_args(spec.inventory.become_key, args, prompts)
    if spec.debug:
        args.append("-vvvv")
    if spec.diff:
        args.append("--diff")
    if spec.dry_run:
        args.append("--check")
    args += _vault_args(ctx)
    extra_vars = ctx.extra_vars()
    extra_vars["semaphore_vars"] = {"task_details": ctx.task_details()}
    args += ["--extra-vars", go_json(extra_vars)]
    secret_vars: dict[str, Any] = dict(spec.secret)
    secret_vars.update(ctx.secrets("var"))
    if secret_vars:
        path = ctx.workspace.secret_file("extra_vars_secret.json", go_json(secret_vars))
        args += ["--extra-vars", f"@{path}"]
    args += list(spec.template.arguments)
    args += ctx.task_arguments()
    args += _filter_args(spec.limit, spec.params)
    args.append(playbook_name(ctx))
    return args, prompts


def _user_args(key: Credential | None, args: list[str], prompts: dict[str, str]) -> None:
    if key is None or key.type == NONE:
        return
    if key.type not in (SSH, LOGIN_PASSWORD):
        raise EngineError("access key does not suite for inventory's user credentials")
    if key.login:
        args += ["--user", key.login]
    if key.type == LOGIN_PASSWORD and key.password:
        args.append("--ask-pass")
        prompts[SSH_PROMPT] = key.password


def _become_args(key: Credential | None, args: list[str], prompts: dict[str, str]) -> None:
    if key is None or key.type == NONE:
        return
    if key.type != LOGIN_PASSWORD:
        raise EngineError("access key does not suite for inventory's sudo user credentials")
    if key.login:
        args += ["--become-user", key.login]
    if key.password:
        args.append("--ask-become-pass")
        prompts[BECOME_PROMPT] = key.password


def _vault_args(ctx: RunContext) -> list[str]:
    args = []
    for index, vault in enumerate(ctx.spec.template.vaults):
        name = vault.name or "default"
        if vault.script:
            args.append(f"--vault-id={name}@{vault.script}")
        elif vault.password:
            path = ctx.workspace.secret_file(f"vault_{index}", vault.password)
            args.append(f"--vault-id={name}@{path}")
    return args


def _filter_args(limit: str, params: Any) -> list[str]:
    """--limit (the task's field, or the 2.16 params' list), then --tags and --skip-tags."""
    args = []
    limit = ",".join(params.get("limit") or []) or limit
    if limit:
        args.append(f"--limit={limit}")
    tags = ",".join(params.get("tags") or [])
    if tags:
        args.append(f"--tags={tags}")
    skip_tags = ",".join(params.get("skip_tags") or [])
    if skip_tags:
        args.append(f"--skip-tags={skip_tags}")
    return args


def _changed_digest(ctx: RunContext, path: Path) -> str | None:
    """The MD5 of a requirements file that needs installing; None (logged) to skip it."""
    if not path.exists():
        ctx.log(f"No {path} file found. Skip galaxy install process.")
        return None
    digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
    stored = Path(f"{path}.md5")
    if stored.exists() and stored.read_text().strip() == digest:
        ctx.log(f"{path} has no changes. Skip galaxy install process.")
        return None
    return digest
