"""The runner's own behaviour: settings, its log lines, masking of everything it reports."""

from __future__ import annotations

from dataclasses import replace

import pytest

from semaphore.config import Config
from semaphore.engine.runner import TaskRunner, build_masker
from semaphore.engine.secrets import MASK
from semaphore.engine.spec import (
    Credential,
    EngineSettings,
    EnvironmentSpec,
    EnvSecret,
    InventorySpec,
    RepositorySpec,
    VaultSpec,
)
from tests.engine.conftest import leftovers, run_task, start, task

pytestmark = pytest.mark.single_db


def test_settings_come_from_the_server_config() -> None:
    config = Config(
        tmp_path="/srv/tmp",
        ssh_config_path="/etc/ssh/semaphore",
        apps={"bash": {"path": "/bin/bash"}},
        env_vars={"A": "1"},
        forwarded_env_vars=("HTTP_PROXY",),
    )
    settings = EngineSettings.from_config(config, stop_grace_seconds=3.0)
    assert settings.tmp_path == "/srv/tmp"
    assert settings.ssh_config_path == "/etc/ssh/semaphore"
    assert settings.apps == {"bash": {"path": "/bin/bash"}}
    assert settings.env_vars == {"A": "1"}
    assert settings.forwarded_env_vars == ("HTTP_PROXY",)
    assert settings.stop_grace_seconds == 3.0


def test_the_masker_knows_every_secret_of_the_task() -> None:
    spec = task(
        "/srv/repo",
        credential=Credential("login_password", login="me", password="repo-pw"),
        inventory=InventorySpec(
            ssh_key=Credential("ssh", private_key="KEYBODY", passphrase="phrase"),
            become_key=Credential("login_password", password="become-pw"),
            repository=RepositorySpec(
                id=2, url="https://x", credential=Credential("login_password", password="inv-pw")
            ),
        ),
        environment=EnvironmentSpec(secrets=[EnvSecret("env", "A", "env-secret")]),
        secret={"nested": {"value": "survey-secret"}},
        template={"vaults": [VaultSpec("v", "vault-pw")]},
    )
    masker = build_masker(spec)
    line = "repo-pw KEYBODY phrase become-pw inv-pw env-secret survey-secret vault-pw me"
    assert masker.mask(line) == " ".join([MASK] * 8 + ["me"])


def test_a_run_reports_preparing_and_its_commit(make_repo, settings) -> None:
    repo = make_repo({"run.sh": "echo ran\n"}, message="the commit")
    run = run_task(task(repo.url, task_id=42), settings)
    assert run.lines[0] == "Preparing: 42"
    assert run.lines[-1] == "ran"
    assert run.commits[0][1] == "the commit"
    assert run.result.exit_code is None and run.result.message == ""


def test_a_failed_checkout_logs_the_originals_messages(settings, tmp_path) -> None:
    run = run_task(task(f"file://{tmp_path}/missing.git"), settings)
    assert run.result.status == "error"
    assert "Failed updating repository: exit status 128" in run.lines
    assert run.lines[-1] == "Running app failed: exit status 128"
    assert run.result.message == "exit status 128"
    assert leftovers(settings) == []


def test_a_template_without_repository_fails(settings) -> None:
    run = run_task(replace(task("/srv"), repository=None), settings)
    assert run.result.status == "error"
    assert run.lines[-1] == "Running app failed: the template has no repository"


def test_a_run_stopped_before_it_starts_runs_nothing(make_repo, settings) -> None:
    repo = make_repo({"run.sh": "echo ran\n"})
    runner, run = start(task(repo.url), settings)
    runner.stop()
    run.result = runner.run()
    assert run.result.status == "stopped"
    assert "ran" not in run.lines
    assert leftovers(settings) == []


def test_semaphores_own_lines_are_masked_too(settings) -> None:
    secret = "file:///nowhere-secret"
    spec = task(secret, environment=EnvironmentSpec(secrets=[EnvSecret("env", "X", "nowhere")]))
    runner = TaskRunner(spec, settings, on_line=lambda text, at: lines.extend(text.split("\n")))
    lines: list[str] = []
    runner.run()
    assert any(f"Cloning Repository file:///{MASK}-secret" == line for line in lines), lines
