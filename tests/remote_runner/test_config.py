"""The runner's keys: the `runner` object of config.json and its SEMAPHORE_RUNNER_* variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semaphore.config import RUNNER_SPECS, RunnerConfig, load_config
from semaphore.errors import ConfigError


def load(tmp_path: Path, file_values: dict | None = None, **environ: str):
    environ = {"SEMAPHORE_DATA_DIR": str(tmp_path / "data"), **environ}
    if file_values is None:
        return load_config(environ=environ, use_file=False, persist_secrets=False)
    path = tmp_path / "config-runner.json"
    path.write_text(json.dumps(file_values))
    return load_config(str(path), environ, persist_secrets=False)


def test_defaults(tmp_path):
    assert load(tmp_path).runner == RunnerConfig()
    assert RunnerConfig().max_parallel_tasks == 1 and RunnerConfig().one_off is False


def test_the_runner_object_and_its_variables(tmp_path):
    values = {
        "web_host": "https://semaphore.example.com/",
        "runner": {
            "token_file": "/var/lib/runner/token",
            "webhook": "https://runner.example.com/hook",
            "max_parallel_tasks": 4,
            "one_off": True,
            "tags": ["linux", "dmz"],
        },
    }
    config = load(tmp_path, values)
    assert config.web_host == "https://semaphore.example.com"
    assert config.runner == RunnerConfig(
        token_file="/var/lib/runner/token",
        webhook="https://runner.example.com/hook",
        max_parallel_tasks=4,
        one_off=True,
        tags=("linux", "dmz"),
    )
    overridden = load(
        tmp_path,
        values,
        SEMAPHORE_RUNNER_TOKEN="t0ken",
        SEMAPHORE_RUNNER_TOKEN_FILE="/tmp/other",
        SEMAPHORE_RUNNER_REGISTRATION_TOKEN="reg",
        SEMAPHORE_RUNNER_MAX_PARALLEL_TASKS="0",
        SEMAPHORE_RUNNER_ONE_OFF="no",
        SEMAPHORE_RUNNER_TAGS=" gpu , big,gpu,",
        SEMAPHORE_RUNNER_WEBHOOK="",
    )
    assert overridden.runner == RunnerConfig(
        token="t0ken",
        token_file="/tmp/other",
        registration_token="reg",
        max_parallel_tasks=0,
        one_off=False,
        tags=("gpu", "big"),
    )
    # The server's flat key reads the same variable (one value for both in a docker setup).
    assert overridden.runner_registration_token == "reg"
    assert load(tmp_path, SEMAPHORE_RUNNER_TAGS='["a", "b"]').runner.tags == ("a", "b")


def test_tokens_are_not_in_the_configs_repr(tmp_path):
    config = load(tmp_path, SEMAPHORE_RUNNER_TOKEN="s3cret-token")
    assert "s3cret-token" not in repr(config)


@pytest.mark.parametrize(
    "environ, key",
    [
        ({"SEMAPHORE_RUNNER_MAX_PARALLEL_TASKS": "-1"}, "runner.max_parallel_tasks"),
        ({"SEMAPHORE_RUNNER_MAX_PARALLEL_TASKS": "two"}, "runner.max_parallel_tasks"),
        ({"SEMAPHORE_RUNNER_ONE_OFF": "sometimes"}, "runner.one_off"),
        ({"SEMAPHORE_RUNNER_TAGS": "has space"}, "runner.tags"),
        ({"SEMAPHORE_RUNNER_TAGS": "[1, 2]"}, "runner.tags"),
        ({"SEMAPHORE_RUNNER_TAGS": '["a,b"]'}, "runner.tags"),
        ({"SEMAPHORE_RUNNER_TAGS": "x" * 65}, "runner.tags"),
        ({"SEMAPHORE_RUNNER_WEBHOOK": "ftp://x"}, "runner.webhook"),
    ],
)
def test_a_bad_variable_names_its_key(tmp_path, environ, key):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, **environ)
    assert caught.value.key == key
    assert f"'{key}'" in str(caught.value)


@pytest.mark.parametrize(
    "runner, key",
    [
        ("not an object", "runner"),
        ({"max_parallel_tasks": True}, "runner.max_parallel_tasks"),
        ({"one_off": "maybe"}, "runner.one_off"),
        ({"tags": {"a": 1}}, "runner.tags"),
        ({"token_file": ["a"]}, "runner.token_file"),
    ],
)
def test_a_bad_file_value_names_its_key(tmp_path, runner, key):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, {"runner": runner})
    assert caught.value.key == key


def test_unknown_runner_keys_are_ignored(tmp_path):
    # The original's newer keys (say, a private key file) must not stop a runner.
    assert load(tmp_path, {"runner": {"private_key_file": "/x"}}).runner == RunnerConfig()


def test_the_readme_documents_every_runner_key():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for key, (env_name, _) in RUNNER_SPECS.items():
        assert f"`runner.{key}`" in readme, key
        assert f"`{env_name}`" in readme, env_name
