"""`semaphore runner setup`: a runner config file from options, then a registration."""

from __future__ import annotations

import json
import os
import stat

import pytest

from semaphore.extensions import db
from semaphore.models import Runner
from tests import factories
from tests.remote_runner.conftest import (
    REGISTRATION_TOKEN,
    assign,
    bash_template,
    output_of,
    status_of,
)


@pytest.fixture
def file_only(runner_cli):
    """The runner's environment without the settings setup writes: the file must hold them."""
    for name in ("SEMAPHORE_WEB_ROOT", "SEMAPHORE_RUNNER_TOKEN_FILE"):
        del runner_cli.env[name]
    return runner_cli


def test_setup_writes_the_config_registers_and_the_runner_starts_from_it(
    file_only, server, script_repo
):
    path = file_only.root / "etc" / "config-runner.json"
    token_file = file_only.root / "state" / "token"
    done = file_only.run(
        "setup",
        "--server-url",
        server.url,
        "--token-file",
        str(token_file),
        "--tags",
        "linux, dmz",
        "--max-parallel-tasks",
        "2",
        "--one-off",
        "--stdin-registration-token",
        stdin=REGISTRATION_TOKEN + "\n",
        config=path,
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "web_host": server.url,
        "runner": {
            "token_file": str(token_file),
            "max_parallel_tasks": 2,
            "one_off": True,
            "tags": ["linux", "dmz"],
        },
    }
    runner = db.session.query(Runner).one()
    assert runner.max_parallel_tasks == 2 and token_file.is_file()
    assert f"--config {path} runner start" in done.stdout
    # The file is all `runner start` needs: one_off, it runs its job and exits.
    task = assign(runner, bash_template(factories.project(), script_repo, "hello.sh"))
    started = file_only.run("start", config=path)
    assert started.returncode == 0, started.stderr
    assert status_of(task.id) == "success" and output_of(task.id)[-1] == "second line"


def test_setup_keeps_the_files_other_keys(file_only, server):
    path = file_only.root / "config-runner.json"
    path.write_text(json.dumps({"tmp_path": "/srv/runner-tmp", "runner": {"one_off": True}}))
    done = file_only.run("setup", "--server-url", server.url, config=path)
    assert done.returncode == 0, done.stderr
    written = json.loads(path.read_text())
    assert written == {
        "tmp_path": "/srv/runner-tmp",
        "web_host": server.url,
        # Options not given keep the file's values; the token file defaults to one beside it.
        "runner": {"one_off": True, "token_file": str(file_only.root / "runner.token")},
    }
    assert db.session.query(Runner).all() == []  # no registration token: not registered


def test_setup_without_a_server_url_and_no_terminal_is_a_usage_error(file_only):
    done = file_only.run("setup", "--token-file", "t")
    assert done.returncode == 2
    assert "--server-url" in done.stderr
    assert not (file_only.root / "config-runner.json").exists()


def test_setup_refuses_a_bad_value_naming_its_key(file_only, server):
    done = file_only.run("setup", "--server-url", server.url, "--tags", "a b")
    assert done.returncode == 1
    assert "runner.tags" in done.stderr
    assert list(file_only.root.glob("config-runner.json*")) == []
