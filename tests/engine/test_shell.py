"""Bash and Python scripts run for real; PowerShell through the pwsh stub."""

from __future__ import annotations

from dataclasses import replace

import pytest

from semaphore.engine.spec import EnvironmentSpec, EnvSecret
from tests.engine.conftest import leftovers, run_task, stub_calls, task

pytestmark = pytest.mark.single_db

ENVIRONMENT = EnvironmentSpec(
    json={"name": "world", "count": 1000000, "flag": True, "list": [1, "a"]},
    env={"APP_ENV": "staging"},
    secrets=[EnvSecret("var", "DB_PASSWORD", "sh-s3cret"), EnvSecret("env", "API_TOKEN", "t0k3n")],
)

BASH = """\
echo "args: $*"
echo "cwd: $(pwd)"
echo "env: $APP_ENV home=$HOME"
echo "secrets: $DB_PASSWORD $API_TOKEN"
read -r line || echo "stdin: empty"
"""

PYTHON = """\
import os, sys
print("args:", sys.argv[1:])
print("path:", os.environ.get("PATH", "unset"))
print("env:", os.environ["APP_ENV"], os.environ["PWD"] == os.getcwd())
"""


def shell_task(repo, app: str, script: str, **fields):
    return task(repo.url, app=app, script=script, environment=ENVIRONMENT, **fields)


def test_bash_gets_arguments_environment_and_empty_stdin(make_repo, settings) -> None:
    repo = make_repo({"scripts/run.sh": BASH})
    environment = replace(ENVIRONMENT, json={"survey": "yes", **ENVIRONMENT.json})
    spec = task(
        repo.url,
        app="bash",
        script="scripts/run.sh",
        environment=environment,
        secret={"hidden": "survey-secret"},
        arguments=["--task-arg"],
        template={"arguments": ["--tpl-arg"], "allow_override_args_in_task": True},
    )
    run = run_task(spec, settings)
    assert run.result.status == "success", run.output
    checkout = f"{settings.tmp_path}/repository_3_7"
    assert run.lines[-5:] == [
        # template args, the run's extra variables (merged by the caller, in their order)
        # with Go's %v formatting, then the task args. The task secret is not passed.
        "args: --tpl-arg survey=yes name=world count=1e+06 flag=true list=[1 a] --task-arg",
        f"cwd: {checkout}",
        f"env: staging home={settings.tmp_path}",
        "secrets: ******** ********",  # var secrets come as environment variables
        "stdin: empty",
    ]
    assert leftovers(settings) == []


def test_task_arguments_are_ignored_unless_allowed(make_repo, settings) -> None:
    repo = make_repo({"run.sh": 'echo "args: $*"\n'})
    run = run_task(task(repo.url, arguments=["--nope"]), settings)
    assert run.lines[-1] == "args: "


def test_python_script_without_path_unless_forwarded(make_repo, settings) -> None:
    repo = make_repo({"tool.py": PYTHON})
    run = run_task(shell_task(repo, "python", "tool.py"), settings)
    assert run.result.status == "success", run.output
    assert run.lines[-3:] == [
        "args: ['name=world', 'count=1e+06', 'flag=true', 'list=[1 a]']",
        "path: unset",
        "env: staging True",
    ]
    forwarded = replace(settings, forwarded_env_vars=("PATH",))
    again = run_task(shell_task(repo, "python", "tool.py", task_id=2), forwarded)
    assert again.lines[-2] == f"path: {settings.server_env['PATH']}"


def test_a_failing_script_fails_the_task(make_repo, settings) -> None:
    repo = make_repo({"run.sh": "echo before\nexit 7\n"})
    run = run_task(task(repo.url), settings)
    assert run.result.status == "error"
    assert run.lines[-2:] == ["before", "Running app failed: exit status 7"]


def test_powershell_runs_pwsh_with_file(make_repo, settings) -> None:
    repo = make_repo({"deploy.ps1": "Write-Output 'hi'\n"})
    run = run_task(
        shell_task(repo, "powershell", "deploy.ps1", template={"arguments": ["-X"]}), settings
    )
    assert run.result.status == "success", run.output
    (call,) = stub_calls(settings)
    assert call["prog"] == "pwsh"
    assert call["argv"] == ["-File", "deploy.ps1", "-X", "name=world", "count=1e+06"] + [
        "flag=true",
        "list=[1 a]",
    ]
    assert call["env"]["DB_PASSWORD"] == "sh-s3cret"  # in the environment, not on argv
    assert "PowerShell 7.4.0 stub running deploy.ps1" in run.lines


def test_app_path_and_args_come_from_the_configuration(make_repo, settings) -> None:
    repo = make_repo({"deploy.ps1": "Write-Output 'hi'\n"})
    stub = settings.server_env["PATH"].split(":")[0] + "/pwsh"
    settings = replace(
        settings, apps={"powershell": {"path": stub, "args": ["-NoProfile", "-File"]}}
    )
    run = run_task(task(repo.url, app="powershell", script="deploy.ps1"), settings)
    assert run.result.status == "success", run.output
    assert stub_calls(settings)[0]["argv"] == ["-NoProfile", "-File", "deploy.ps1"]


def test_an_unknown_app_fails_the_task(make_repo, settings) -> None:
    repo = make_repo({"run.sh": "true\n"})
    run = run_task(task(repo.url, app="pulumi"), settings)
    assert run.result.status == "error"
    assert run.lines[-1] == "Running app failed: Invalid app id: pulumi"
