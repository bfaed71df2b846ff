"""What every app module shares: the run context, the process environment, Go-style values.

An app module turns a prepared task (checkout, inventory, keys) into commands and runs them
through `RunContext.execute`, which streams masked output and raises on failure or stop.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from semaphore.engine.errors import EngineError
from semaphore.engine.spec import BUILD, DEPLOY, EngineSettings, TaskSpec
from semaphore.engine.workspace import Workspace
from semaphore.executables import find_executable


@dataclass
class Command:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    # Prompt prefix -> answer typed when the command shows it; without answers stdin is empty.
    answers: dict[str, str] | None = None


class App(Protocol):
    """One tool (ansible, terraform, bash…): installs its requirements, then runs the task."""

    id: str

    def install_requirements(self, ctx: RunContext) -> None: ...

    def run(self, ctx: RunContext) -> None: ...


@dataclass
class RunContext:
    """A prepared task, handed to its app. Built by engine.runner.TaskRunner."""

    spec: TaskSpec
    settings: EngineSettings
    workspace: Workspace
    checkout: Path  # the repository working tree (cwd of most commands)
    log: Callable[[str], None]
    # Runs a command; raises CommandFailed on a non-zero exit and TaskStopped after a stop.
    # The optional observer sees each (masked) output line, e.g. terraform's "No changes.".
    execute: Callable[[Command, Callable[[str], None] | None], None]
    set_status: Callable[[str], None]
    confirm: Callable[[], bool]
    inventory_path: str | None = None  # ansible's -i
    inventory_env: Mapping[str, str] = field(default_factory=dict)  # SSH_AUTH_SOCK
    socket_dir: Path | None = None

    # --- programs ---------------------------------------------------------------------------

    def program(self, app_id: str, name: str) -> str:
        """`apps.<id>.path` if configured, else the real binary on the server PATH or the venv.

        Raises:
            EngineError: the program is not installed.
        """
        configured = (self.settings.apps.get(app_id) or {}).get("path")
        if configured:
            return str(configured)
        found = shutil.which(name, path=self.settings.server_env.get("PATH")) or find_executable(
            name
        )
        if not found:
            raise EngineError(f"{name} is not installed on this server")
        return found

    def leading_args(self, app_id: str, default: Sequence[str]) -> list[str]:
        """`apps.<id>.args` replaces an app's leading arguments (e.g. powershell's -File)."""
        configured = (self.settings.apps.get(app_id) or {}).get("args")
        return [str(a) for a in configured] if configured else list(default)

    # --- variables --------------------------------------------------------------------------

    def extra_vars(self) -> dict[str, Any]:
        """The run's extra variables (merged by the caller: environments, then task values)."""
        environment = self.spec.environment
        return dict(environment.json) if environment is not None else {}

    def secrets(self, kind: str) -> list[tuple[str, str]]:
        """(name, value) of the environment's secrets of one type, `var` or `env`."""
        environment = self.spec.environment
        if environment is None:
            return []
        return [(s.name, s.value) for s in environment.secrets if s.type == kind]

    def task_details(self) -> dict[str, Any]:
        """semaphore_vars.task_details, as the original builds it."""
        spec = self.spec
        details: dict[str, Any] = {"id": spec.task_id, "username": spec.username, "url": spec.url}
        if spec.message:
            details["message"] = spec.message
        if spec.template.type in (BUILD, DEPLOY):
            details["type"] = spec.template.type
            if spec.incoming_version is not None:
                details["incoming_version"] = spec.incoming_version
            if spec.template.type == BUILD:
                details["target_version"] = spec.version
        return details

    # --- environment ------------------------------------------------------------------------

    def process_env(self, cwd: Path, fixed: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of an app's command, layered in the original's order."""
        settings = self.settings
        env: dict[str, str] = dict(fixed or {})
        for name in settings.forwarded_env_vars:
            if name in settings.server_env:
                env[name] = settings.server_env[name]
        env.update({k: str(v) for k, v in settings.env_vars.items()})
        env["HOME"] = settings.tmp_path
        env["PWD"] = str(cwd)
        if self.spec.environment is not None:
            env.update({k: go_format(v) for k, v in self.spec.environment.env.items()})
        env.update(dict(self.secrets("env")))
        env.update(self.inventory_env)
        template = self.spec.template
        if template.type in (BUILD, DEPLOY):
            env["SEMAPHORE_TASK_TYPE"] = template.type
            if self.spec.incoming_version is not None:
                env["SEMAPHORE_TASK_INCOMING_VERSION"] = self.spec.incoming_version
            if template.type == BUILD and self.spec.version is not None:
                env["SEMAPHORE_TASK_TARGET_VERSION"] = self.spec.version
        return env

    def task_arguments(self) -> list[str]:
        """The task's own arguments, only when the template allows overriding them."""
        if self.spec.template.allow_override_args_in_task:
            return list(self.spec.arguments)
        return []


# --- Go-compatible rendering ---------------------------------------------------------------


def go_json(value: Any) -> str:
    """JSON as Go's json.Marshal writes it: sorted keys, no spaces, HTML characters escaped."""
    text = json.dumps(_go_numbers(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # These characters only occur inside strings, where Go writes them as \u escapes.
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _go_numbers(value: Any) -> Any:
    # Go decodes every JSON number to float64 and writes whole ones without ".0".
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value


def go_format(value: Any) -> str:
    """A JSON-decoded value as Go's fmt %v prints it (shell and terraform `k=v` arguments)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_float(float(value))
    if isinstance(value, dict):
        items = " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value))
        return f"map[{items}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    return str(value)


def _go_float(number: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64): shortest digits, exponent from 1e+06 and below 1e-4."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if math.copysign(1, number) < 0 else "0"
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    text = "".join(str(d) for d in digits)
    point = len(text) + int(exponent)  # digits before the decimal point
    magnitude = point - 1
    prefix = "-" if sign else ""
    if magnitude < -4 or magnitude >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if magnitude < 0 else '+'}{abs(magnitude):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{prefix}{text}{'0' * (point - len(text))}"
    return f"{prefix}{text[:point]}.{text[point:]}"
