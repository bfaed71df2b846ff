"""One module per tool, registered by app id (the original's db_lib/AppFactory.go)."""

from __future__ import annotations

from semaphore.engine.apps.ansible import AnsibleApp
from semaphore.engine.apps.base import App, Command, RunContext
from semaphore.engine.apps.shell import ShellApp
from semaphore.engine.apps.terraform import TerraformApp
from semaphore.engine.apps.terragrunt import TerragruntApp
from semaphore.engine.errors import EngineError

APPS: dict[str, App] = {
    "ansible": AnsibleApp(),
    "terraform": TerraformApp("terraform", "terraform"),
    "tofu": TerraformApp("tofu", "tofu"),
    "terragrunt": TerragruntApp(),
    "bash": ShellApp("bash", ["bash"]),
    "powershell": ShellApp("powershell", ["pwsh", "powershell"], ["-File"]),
    "python": ShellApp("python", ["python3"]),
}


def get_app(app_id: str) -> App:
    """The app module for a template's `app`.

    Raises:
        EngineError: an app id the engine cannot run (e.g. pulumi).
    """
    app = APPS.get(app_id or "ansible")
    if app is None:
        raise EngineError(f"Invalid app id: {app_id}")
    return app


__all__ = ["APPS", "App", "Command", "RunContext", "get_app"]
