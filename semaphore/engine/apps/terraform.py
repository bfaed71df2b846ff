"""Terraform and OpenTofu (the binary is the app id): init, workspace, plan, apply.

The original's sequence (REFERENCE.md §3): `<bin> init`, `<bin> workspace select
-or-create=true <ws>`, `<bin> plan <args>` with empty stdin; a plan printing "No changes." ends
the task; otherwise the task waits for a confirmation, then `<bin> apply -auto-approve <args>`.
`<args>` is `-var k=v` per extra variable. From the 2.16 task params: `plan` (plan only),
`auto_approve` (no confirmation), `destroy` (`-destroy` first in <args>, so both the plan and
the apply destroy) and `upgrade` (`init -upgrade`).

Deliberate difference: the environment's `var` secrets, which the original passes as
`-var NAME=value`, go into a 0600 `-var-file=<file>.tfvars.json` (values as strings).
"""

from __future__ import annotations

from pathlib import Path

from semaphore.engine.apps.base import Command, RunContext, go_format, go_json
from semaphore.engine.inventory import terraform_workspace
from semaphore.engine.process import TaskStopped

NO_CHANGES = "No changes."
WAITING_CONFIRMATION = "waiting_confirmation"
RUNNING = "running"


class TerraformApp:
    """terraform (id `terraform`) or OpenTofu (id `tofu`)."""

    def __init__(self, app_id: str, binary: str) -> None:
        self.id = app_id
        self.binary = binary

    def workdir(self, ctx: RunContext) -> Path:
        """checkout/<playbook>: the template's playbook names a sub-directory here."""
        return ctx.checkout / ctx.spec.template.playbook.lstrip("/")

    def init_args(self, ctx: RunContext) -> list[str]:
        return ["init", "-upgrade"] if ctx.spec.params.get("upgrade") else ["init"]

    def workspace_args(self, workspace: str) -> list[str]:
        return ["workspace", "select", "-or-create=true", workspace]

    def install_requirements(self, ctx: RunContext) -> None:
        """init, then select (or create) the inventory's workspace."""
        program = ctx.program(self.id, self.binary)
        cwd = self.workdir(ctx)
        env = ctx.process_env(cwd)
        ctx.execute(Command([program, *self.init_args(ctx)], cwd, env), None)
        workspace = terraform_workspace(ctx.spec.inventory)
        ctx.execute(Command([program, *self.workspace_args(workspace)], cwd, env), None)

    def variable_args(self, ctx: RunContext) -> list[str]:
        """`-destroy`, `-var k=v` per extra variable, `-var-file=` with the var secrets."""
        args = ["-destroy"] if ctx.spec.params.get("destroy") else []
        for name, value in ctx.extra_vars().items():
            args += ["-var", f"{name}={go_format(value)}"]
        secrets = dict(ctx.secrets("var"))
        if secrets:
            path = ctx.workspace.secret_file("secret_vars.tfvars.json", go_json(secrets))
            args.append(f"-var-file={path}")
        return args

    def run(self, ctx: RunContext) -> None:
        """Plan; then apply at once (auto-approve), after a confirmation, or not at all."""
        program = ctx.program(self.id, self.binary)
        cwd = self.workdir(ctx)
        env = ctx.process_env(cwd)
        args = self.variable_args(ctx)
        seen = {"no_changes": False}

        def watch(line: str) -> None:
            if NO_CHANGES in line:
                seen["no_changes"] = True

        ctx.execute(Command([program, "plan", *args], cwd, env), watch)
        if seen["no_changes"] or ctx.spec.params.get("plan"):
            return
        if not (ctx.spec.template.auto_approve or ctx.spec.params.get("auto_approve")):
            ctx.set_status(WAITING_CONFIRMATION)
            if not ctx.confirm():
                # Rejected or stopped while waiting: the original's forced stop.
                raise TaskStopped()
            ctx.set_status(RUNNING)
        ctx.execute(Command([program, "apply", "-auto-approve", *args], cwd, env), None)
