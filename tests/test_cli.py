"""The `semaphore` command: users, setup, migrate, version, and bad arguments."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from semaphore.cli import main
from semaphore.extensions import db
from semaphore.models import User
from semaphore.security.passwords import check_password
from tests import factories


@pytest.fixture
def cli(app, config):
    environ = {
        "SEMAPHORE_DB_URL": config.database_url,
        "SEMAPHORE_REDIS_URL": config.redis_url,
        "SEMAPHORE_DATA_DIR": config.data_dir,
        "SEMAPHORE_BCRYPT_COST": "4",
        "SEMAPHORE_LOG_LEVEL": "WARNING",
    }
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, ["--no-config", *args], env=environ, catch_exceptions=False)
        db.session.expire_all()
        return result

    return invoke


def test_user_add_list_get(cli):
    result = cli(
        "user",
        "add",
        "--login",
        "ann",
        "--name",
        "Ann",
        "--email",
        "ann@example.com",
        "--password",
        "pw1-secret",
        "--admin",
    )
    assert result.exit_code == 0, result.output
    user = db.session.query(User).filter_by(username="ann").one()
    assert user.admin and check_password("pw1-secret", user.password)
    cli(
        "users",
        "add",
        "--login",
        "bob",
        "--name",
        "Bob",
        "--email",
        "bob@example.com",
        "--password",
        "pw2-secret",
    )
    listed = cli("user", "list")
    assert listed.exit_code == 0 and listed.output.split() == ["ann", "bob"]
    shown = cli("user", "get", "--email", "bob@example.com")
    assert "login: bob" in shown.output and "admin: false" in shown.output


def test_user_add_duplicate_fails_with_a_message(cli, app):
    factories.user(username="ann")
    result = cli(
        "user",
        "add",
        "--login",
        "ann",
        "--name",
        "A",
        "--email",
        "x@example.com",
        "--password",
        "pw-secret",
    )
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_user_change_by_login_and_email(cli, app):
    user = factories.user(username="carl", email="carl@example.com")
    result = cli(
        "user",
        "change-by-login",
        "--login",
        "carl",
        "--name",
        "Carl C",
        "--password",
        "new-password",
        "--admin",
    )
    assert result.exit_code == 0, result.output
    assert user.name == "Carl C" and user.admin and check_password("new-password", user.password)
    result = cli("user", "change-by-email", "--email", "carl@example.com", "--name", "Carl D")
    assert result.exit_code == 0 and user.name == "Carl D" and user.admin


def test_user_delete(cli, app):
    factories.user(username="dora", email="dora@example.com")
    assert cli("user", "delete", "--login", "dora").exit_code == 0
    assert db.session.query(User).filter_by(username="dora").first() is None
    missing = cli("user", "delete", "--email", "dora@example.com")
    assert missing.exit_code == 1 and "no user" in missing.output


@pytest.mark.parametrize(
    "args",
    [
        ["user", "add", "--login", "x"],  # missing required options
        ["user", "delete"],  # neither --login nor --email
        ["user", "delete", "--login", "a", "--email", "b@c"],  # both
        ["user", "nonsense"],
        ["frobnicate"],
        ["--log-level", "LOUD", "version"],
    ],
)
def test_bad_arguments_exit_2(cli, args):
    result = cli(*args)
    assert result.exit_code == 2
    assert "Error" in result.output or "Usage" in result.output


def test_setup_creates_the_first_admin_once(cli):
    first = cli("setup")
    assert first.exit_code == 0, first.output
    password = next(line.split()[-1] for line in first.output.splitlines() if "password:" in line)
    admin = db.session.query(User).filter_by(username="admin").one()
    assert admin.admin and check_password(password, admin.password)
    second = cli("setup")
    assert second.exit_code == 0
    assert "password:" not in second.output
    assert db.session.query(User).count() == 1


def test_migrate(cli):
    result = cli("migrate")
    assert result.exit_code == 0 and "up to date" in result.output


@pytest.mark.single_db
def test_version_and_bad_config_in_a_real_process(tmp_path, backend):
    command = [sys.executable, "-m", "semaphore"]
    version = subprocess.run([*command, "version"], capture_output=True, text=True, check=False)
    assert version.returncode == 0 and version.stdout.strip()
    bad = subprocess.run(
        [*command, "--no-config", "user", "list"],
        capture_output=True,
        text=True,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "SEMAPHORE_PORT": "nope",
            "SEMAPHORE_DATA_DIR": str(tmp_path),
        },
    )
    assert bad.returncode == 1
    assert "'port'" in bad.stderr
