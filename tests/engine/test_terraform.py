"""Terraform, OpenTofu and Terragrunt through stubs that record their argv (REFERENCE.md §3)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from semaphore.engine.spec import EnvironmentSpec, EnvSecret, InventorySpec
from tests.engine.conftest import leftovers, run_task, stub_calls, task

pytestmark = pytest.mark.single_db

ENVIRONMENT = EnvironmentSpec(
    json={"region": "eu-west-1", "count": 3},
    env={"TF_LOG": "ERROR"},
    secrets=[EnvSecret("var", "db_password", "tf-s3cret"), EnvSecret("env", "TOKEN", "tok")],
)
VARS = ["-var", "region=eu-west-1", "-var", "count=3"]


@pytest.fixture
def infra(make_repo):
    return make_repo({"infra/main.tf": 'resource "null_resource" "x" {}\n'})


def tf_task(repo, app: str = "terraform", **fields):
    return task(repo.url, app=app, script="/infra", environment=ENVIRONMENT, **fields)


def calls(settings) -> list[tuple[str, list[str]]]:
    return [(c["prog"], c["argv"]) for c in stub_calls(settings)]


def strip_var_file(argv: list[str]) -> list[str]:
    return [a for a in argv if not a.startswith("-var-file=")]


@pytest.mark.parametrize("app", ["terraform", "tofu"])
def test_auto_approve_runs_init_workspace_plan_apply(infra, settings, app) -> None:
    run = run_task(tf_task(infra, app=app, template={"auto_approve": True}), settings)
    assert run.result.status == "success", run.output
    recorded = stub_calls(settings)
    assert [(c["prog"], strip_var_file(c["argv"])) for c in recorded] == [
        (app, ["init"]),
        (app, ["workspace", "select", "-or-create=true", "default"]),
        (app, ["plan", *VARS]),
        (app, ["apply", "-auto-approve", *VARS]),
    ]
    checkout = Path(settings.tmp_path) / "repository_3_7"
    plan = recorded[2]
    assert plan["cwd"] == str(checkout / "infra")
    # The var secret is in a 0600 file, never on the command line.
    var_file = plan["argv"][-1]
    assert var_file.startswith("-var-file=") and var_file.endswith(".tfvars.json")
    assert not Path(var_file.removeprefix("-var-file=")).exists()  # removed after the run
    assert all("tf-s3cret" not in " ".join(c["argv"]) for c in recorded)
    env = plan["env"]
    assert "PATH" not in env  # terraform gets no PATH unless it is forwarded
    assert env["HOME"] == settings.tmp_path and env["PWD"] == str(checkout / "infra")
    assert env["TF_LOG"] == "ERROR" and env["TOKEN"] == "tok"
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in run.lines
    assert run.statuses == []
    assert leftovers(settings) == []


def test_the_var_secrets_file_holds_them_while_terraform_runs(infra, settings, tmp_path):
    # A terraform-named script first on the server PATH shows the file as terraform sees it.
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "terraform").write_text(
        '#!/bin/sh\nfor a in "$@"; do case "$a" in -var-file=*) '
        'f="${a#-var-file=}"; stat -c %a "$f"; cat "$f"; echo;; esac; done\n'
    )
    (spy / "terraform").chmod(0o755)
    settings = replace(settings, server_env={**settings.server_env, "PATH": f"{spy}:/usr/bin:/bin"})
    run = run_task(tf_task(infra, template={"auto_approve": True}), settings)
    assert run.result.status == "success", run.output
    assert "600" in run.lines
    assert '{"db_password":"********"}' in run.lines  # the file's content, masked in output


def test_a_plan_waits_for_confirmation_then_applies(infra, settings) -> None:
    inventory = InventorySpec(type="terraform-workspace", inventory="staging")
    asked = []
    run = run_task(
        tf_task(infra, app="tofu", inventory=inventory),
        settings,
        confirm=lambda: asked.append(True) or True,
    )
    assert run.result.status == "success", run.output
    assert asked == [True]
    assert run.statuses == ["waiting_confirmation", "running"]
    assert [strip_var_file(argv) for _, argv in calls(settings)] == [
        ["init"],
        ["workspace", "select", "-or-create=true", "staging"],
        ["plan", *VARS],
        ["apply", "-auto-approve", *VARS],
    ]


def test_a_rejected_plan_is_a_stop(infra, settings) -> None:
    run = run_task(tf_task(infra), settings, confirm=lambda: False)
    assert run.result.status == "stopped"
    assert run.statuses == ["waiting_confirmation"]
    assert [argv[0] for _, argv in calls(settings)] == ["init", "workspace", "plan"]
    assert leftovers(settings) == []


def test_no_changes_ends_the_task_after_the_plan(infra, settings) -> None:
    settings = replace(settings, env_vars={**settings.env_vars, "STUB_NO_CHANGES": "1"})
    run = run_task(tf_task(infra), settings, confirm=lambda: pytest.fail("no confirmation"))
    assert run.result.status == "success"
    assert [argv[0] for _, argv in calls(settings)] == ["init", "workspace", "plan"]


def test_plan_only_destroy_and_upgrade_params(infra, settings) -> None:
    plan_only = run_task(tf_task(infra, params={"plan": True, "upgrade": True}), settings)
    assert plan_only.result.status == "success"
    assert [strip_var_file(argv) for _, argv in calls(settings)] == [
        ["init", "-upgrade"],
        ["workspace", "select", "-or-create=true", "default"],
        ["plan", *VARS],
    ]
    Path(settings.env_vars["STUB_LOG"]).unlink()
    destroy = run_task(
        tf_task(infra, task_id=2, params={"destroy": True, "auto_approve": True}), settings
    )
    assert destroy.result.status == "success"
    assert [strip_var_file(argv) for _, argv in calls(settings)][2:] == [
        ["plan", "-destroy", *VARS],
        ["apply", "-auto-approve", "-destroy", *VARS],
    ]


def test_terragrunt_runs_the_same_sequence(infra, settings) -> None:
    run = run_task(tf_task(infra, app="terragrunt", template={"auto_approve": True}), settings)
    assert run.result.status == "success", run.output
    assert [(p, strip_var_file(a)) for p, a in calls(settings)] == [
        ("terragrunt", ["init"]),
        ("terragrunt", ["run", "--", "workspace", "select", "-or-create=true", "default"]),
        ("terragrunt", ["plan", *VARS]),
        ("terragrunt", ["apply", "-auto-approve", *VARS]),
    ]


def test_a_failing_init_fails_the_task(infra, settings) -> None:
    settings = replace(settings, env_vars={**settings.env_vars, "STUB_FAIL": "init"})
    run = run_task(tf_task(infra), settings)
    assert run.result.status == "error"
    assert "Error: init failed" in run.lines
    assert run.lines[-1] == "Running app failed: exit status 1"
    assert run.result.exit_code == 1
