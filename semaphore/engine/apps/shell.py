"""Scripts from the repository: `bash <script>`, `python3 <script>`, `pwsh -File <script>`.

Arguments after the script, in the original's order: the template arguments, `k=v` per extra
variable (values as Go's %v prints them), the task arguments if the template allows them.
`apps.<id>.path` replaces the binary and `apps.<id>.args` the leading arguments (`-File`).
cwd is the checkout and stdin is empty. The task's `secret` is not passed, as in the original.

PowerShell's binary is `pwsh` on Linux (the original calls `powershell`, the Windows name,
which is used when no `pwsh` is installed).

Deliberate difference: the environment's `var` secrets, which the original puts first after the
script as `NAME=value` arguments, are given as environment variables NAME=value instead, so that
they never appear on a command line.
"""

from __future__ import annotations

from collections.abc import Sequence

from semaphore.engine.apps.base import Command, RunContext, go_format
from semaphore.engine.errors import EngineError


class ShellApp:
    def __init__(self, app_id: str, binaries: Sequence[str], leading: Sequence[str] = ()) -> None:
        self.id = app_id
        self.binaries = tuple(binaries)
        self.leading = tuple(leading)

    def install_requirements(self, ctx: RunContext) -> None:
        """Scripts have no requirements step."""

    def program(self, ctx: RunContext) -> str:
        problem: EngineError | None = None
        for name in self.binaries:
            try:
                return ctx.program(self.id, name)
            except EngineError as exc:
                problem = problem or exc
        assert problem is not None
        raise problem

    def arguments(self, ctx: RunContext) -> list[str]:
        """Everything after the binary: leading arguments, the script, then the arguments."""
        args = [*ctx.leading_args(self.id, self.leading), ctx.spec.template.playbook]
        args += list(ctx.spec.template.arguments)
        args += [f"{name}={go_format(value)}" for name, value in ctx.extra_vars().items()]
        args += ctx.task_arguments()
        return args

    def env(self, ctx: RunContext) -> dict[str, str]:
        env = ctx.process_env(ctx.checkout)
        env.update(dict(ctx.secrets("var")))
        env.update(dict(ctx.secrets("env")))  # an `env` secret of the same name still wins
        return env

    def run(self, ctx: RunContext) -> None:
        argv = [self.program(ctx), *self.arguments(ctx)]
        ctx.execute(Command(argv, ctx.checkout, self.env(ctx)), None)
