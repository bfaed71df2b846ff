"""`semaphore runner register | unregister` against a real server over HTTP."""

from __future__ import annotations

import os
import stat

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Runner
from semaphore.security.tokens import digest
from tests.remote_runner.conftest import REGISTRATION_TOKEN


def test_register_reads_the_token_from_stdin_and_keeps_the_answer_0600(runner_cli):
    done = runner_cli.run(
        "register",
        "--stdin-registration-token",
        stdin=f"  {REGISTRATION_TOKEN}  \nignored second line\n",
        SEMAPHORE_RUNNER_MAX_PARALLEL_TASKS="3",
        SEMAPHORE_RUNNER_WEBHOOK="https://runner.example.com/hook",
    )
    assert done.returncode == 0, done.stderr
    token = runner_cli.token_file.read_text().strip()
    assert stat.S_IMODE(os.stat(runner_cli.token_file).st_mode) == 0o600
    runner = db.session.scalars(select(Runner)).one()
    assert runner.token_hash == digest(token)
    assert (runner.max_parallel_tasks, runner.webhook) == (3, "https://runner.example.com/hook")
    # The token is neither printed nor logged.
    assert token not in done.stdout + done.stderr
    # A runner has no database and no server secrets: it never writes the secrets file.
    assert not (runner_cli.data_dir / "secrets.json").exists()


def test_a_wrong_registration_token_exits_1_with_the_servers_message(runner_cli):
    done = runner_cli.run("register", "--stdin-registration-token", stdin="wrong\n")
    assert done.returncode == 1
    assert "Invalid registration token" in done.stderr
    assert not runner_cli.token_file.exists()
    assert db.session.scalars(select(Runner)).all() == []


def test_the_registration_token_may_come_from_the_config(runner_cli):
    done = runner_cli.run("register", SEMAPHORE_RUNNER_REGISTRATION_TOKEN=REGISTRATION_TOKEN)
    assert done.returncode == 0, done.stderr
    assert runner_cli.token_file.is_file()


def test_register_needs_a_token_file(runner_cli):
    env = {k: v for k, v in runner_cli.env.items() if k != "SEMAPHORE_RUNNER_TOKEN_FILE"}
    runner_cli.env = env
    done = runner_cli.run("register", "--stdin-registration-token", stdin=REGISTRATION_TOKEN)
    assert done.returncode == 1
    assert "runner.token_file is not set" in done.stderr
    assert db.session.scalars(select(Runner)).all() == []  # nothing registered in vain


def test_an_unreachable_server_is_a_clear_error(runner_cli):
    done = runner_cli.run(
        "register",
        "--stdin-registration-token",
        stdin=REGISTRATION_TOKEN,
        SEMAPHORE_WEB_ROOT="http://127.0.0.1:9",
    )
    assert done.returncode == 1
    assert "127.0.0.1:9" in done.stderr and "Traceback" not in done.stderr


def test_start_without_a_token_says_how_to_get_one(runner_cli):
    done = runner_cli.run("start")
    assert done.returncode == 1
    assert "semaphore runner register" in done.stderr


def test_unregister_deletes_the_runner_and_its_token_file(runner_cli):
    runner_id = runner_cli.register().id
    done = runner_cli.run("unregister")
    assert done.returncode == 0, done.stderr
    db.session.expire_all()
    assert db.session.get(Runner, runner_id) is None
    assert not runner_cli.token_file.exists()
