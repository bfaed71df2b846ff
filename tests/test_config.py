"""load_config(): defaults < config.json < SEMAPHORE_* variables; bad values name their key."""

import base64
import json
import os
import stat

import pytest

from semaphore.config import Config, load_config
from semaphore.errors import ConfigError


def write_config(tmp_path, values):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(values))
    return str(path)


def test_defaults(tmp_path):
    config = load_config(environ={"SEMAPHORE_DATA_DIR": str(tmp_path)}, use_file=False)
    assert config.port == 3000
    assert config.max_parallel_tasks == 10
    assert config.tmp_path == "/tmp/semaphore"
    assert config.bcrypt_cost == 11
    assert config.database_url == f"sqlite:///{tmp_path}/semaphore.db"
    assert config.redis_url == ""
    assert config.ldap_mappings == {"dn": "dn", "mail": "mail", "uid": "uid", "cn": "cn"}


def test_file_values_and_environment_overrides(tmp_path):
    path = write_config(
        tmp_path,
        {
            "port": ":8080",
            "tmp_path": "/srv/tmp",
            "max_parallel_tasks": 3,
            "web_host": "https://ci.example.com/semaphore/",
            "email_alert": True,
            "email_host": "smtp.example.com",
            "ldap_mappings": {"uid": "sAMAccountName"},
            "slack_alert": True,
            "env_vars": {"A": "1"},
            "forwarded_env_vars": ["HTTP_PROXY"],
            "apps": {"python": {"path": "/usr/bin/python3"}},
        },
    )
    environ = {
        "SEMAPHORE_DATA_DIR": str(tmp_path),
        "SEMAPHORE_PORT": "9090",
        "SEMAPHORE_EMAIL_ALERT": "no",
        "SEMAPHORE_LDAP_MAPPING_MAIL": "userPrincipalName",
        "SEMAPHORE_MAX_PARALLEL_TASKS": "0",
    }
    config = load_config(path, environ)
    assert config.port == 9090
    assert config.tmp_path == "/srv/tmp"
    assert config.max_parallel_tasks == 0
    assert config.web_host == "https://ci.example.com/semaphore"
    assert config.web_root_path == "/semaphore"
    assert config.email_alert is False and config.email_host == "smtp.example.com"
    assert config.ldap_mappings["uid"] == "sAMAccountName"
    assert config.ldap_mappings["mail"] == "userPrincipalName"
    assert config.slack_alert is True
    assert config.env_vars == {"A": "1"} and config.forwarded_env_vars == ("HTTP_PROXY",)
    assert config.apps["python"]["path"] == "/usr/bin/python3"


def test_config_path_from_environment(tmp_path):
    path = write_config(tmp_path, {"port": 4000})
    environ = {"SEMAPHORE_CONFIG_PATH": path, "SEMAPHORE_DATA_DIR": str(tmp_path)}
    assert load_config(environ=environ).port == 4000


@pytest.mark.parametrize(
    "environ, key",
    [
        ({"SEMAPHORE_PORT": "abc"}, "port"),
        ({"SEMAPHORE_PORT": "70000"}, "port"),
        ({"SEMAPHORE_MAX_PARALLEL_TASKS": "-1"}, "max_parallel_tasks"),
        ({"SEMAPHORE_MAX_PARALLEL_TASKS": "many"}, "max_parallel_tasks"),
        ({"SEMAPHORE_EMAIL_ALERT": "maybe"}, "email_alert"),
        ({"SEMAPHORE_WEB_ROOT": "ftp://x"}, "web_host"),
        ({"SEMAPHORE_COOKIE_HASH": "not base64!"}, "cookie_hash"),
        (
            {"SEMAPHORE_ACCESS_KEY_ENCRYPTION": base64.b64encode(b"short").decode()},
            "access_key_encryption",
        ),
        ({"SEMAPHORE_ENV_VARS": "[1]"}, "env_vars"),
        ({"SEMAPHORE_FORWARDED_ENV_VARS": "{bad json"}, "forwarded_env_vars"),
        ({"SEMAPHORE_LOG_LEVEL": "LOUD"}, "log_level"),
        ({"SEMAPHORE_DB_DIALECT": "bolt"}, "dialect"),
        ({"SEMAPHORE_DB_DIALECT": "oracle"}, "dialect"),
        ({"SEMAPHORE_DB_URL": "oracle://x/y"}, "database_url"),
        ({"SEMAPHORE_GIT_CLIENT": "svn"}, "git_client"),
    ],
)
def test_bad_environment_value_names_the_key(tmp_path, environ, key):
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"SEMAPHORE_DATA_DIR": str(tmp_path), **environ}, use_file=False)
    assert caught.value.key == key
    assert f"'{key}'" in str(caught.value)


@pytest.mark.parametrize(
    "values, key",
    [
        ({"port": True}, "port"),
        ({"max_parallel_tasks": "x"}, "max_parallel_tasks"),
        ({"apps": [1]}, "apps"),
        ({"postgres": "x", "dialect": "postgres"}, "postgres"),
    ],
)
def test_bad_file_value_names_the_key(tmp_path, values, key):
    path = write_config(tmp_path, values)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {"SEMAPHORE_DATA_DIR": str(tmp_path)})
    assert caught.value.key == key


def test_unreadable_config_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{oops")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(str(path), {})
    with pytest.raises(ConfigError, match="file not found"):
        load_config(str(tmp_path / "missing.json"), {})


def test_database_from_the_originals_keys(tmp_path):
    path = write_config(
        tmp_path,
        {
            "dialect": "postgres",
            "postgres": {
                "host": "db.local:5433",
                "user": "sem",
                "pass": "p@ss word",
                "name": "semaphore",
                "options": {"sslmode": "disable"},
            },
        },
    )
    config = load_config(path, {"SEMAPHORE_DATA_DIR": str(tmp_path)})
    assert config.database_url == (
        "postgresql+psycopg://sem:p%40ss%20word@db.local:5433/semaphore?sslmode=disable"
    )
    environ = {
        "SEMAPHORE_DATA_DIR": str(tmp_path),
        "SEMAPHORE_DB_DIALECT": "mysql",
        "SEMAPHORE_DB_HOST": "maria",
        "SEMAPHORE_DB_PORT": "3307",
        "SEMAPHORE_DB_USER": "u",
        "SEMAPHORE_DB": "sem",
    }
    assert (
        load_config(environ=environ, use_file=False).database_url
        == "mysql+pymysql://u@maria:3307/sem"
    )


def test_database_url_is_normalised(tmp_path):
    environ = {"SEMAPHORE_DATA_DIR": str(tmp_path), "SEMAPHORE_DB_URL": "postgres://u:p@h/db"}
    assert (
        load_config(environ=environ, use_file=False).database_url == "postgresql+psycopg://u:p@h/db"
    )


def test_missing_secrets_are_generated_once_and_kept_private(tmp_path, capsys):
    environ = {"SEMAPHORE_DATA_DIR": str(tmp_path)}
    first = load_config(environ=environ, use_file=False)
    second = load_config(environ=environ, use_file=False)
    for key in ("cookie_hash", "cookie_encryption", "access_key_encryption"):
        assert len(first.secret_bytes(key)) == 32
        assert getattr(first, key) == getattr(second, key)
    secrets_file = tmp_path / "secrets.json"
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    captured = capsys.readouterr()
    assert first.cookie_hash not in captured.out + captured.err


def test_configured_secret_wins_over_the_stored_one(tmp_path):
    key = base64.b64encode(b"k" * 32).decode()
    environ = {"SEMAPHORE_DATA_DIR": str(tmp_path), "SEMAPHORE_ACCESS_KEY_ENCRYPTION": key}
    assert load_config(environ=environ, use_file=False).access_key_encryption == key


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        Config().port = 1


def test_readme_documents_every_key():
    from pathlib import Path

    from semaphore.config import config_keys

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for key, env_name, _ in config_keys():
        assert f"`{key}`" in readme or key in readme, key
        if env_name:
            prefix = env_name.rsplit("_", 1)[0]
            assert env_name in readme or f"{prefix}_" in readme, env_name


def test_task_sandbox_keys(tmp_path):
    defaults = load_config(environ={"SEMAPHORE_DATA_DIR": str(tmp_path)}, use_file=False)
    assert defaults.task_sandbox is True
    assert defaults.task_sandbox_paths == () and defaults.local_repository_roots == ()
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"data_dir": str(tmp_path), "task_sandbox": False}))
    environ = {
        "SEMAPHORE_TASK_SANDBOX_PATHS": '["/opt/tools", "/var/cache/tf/:rw"]',
        "SEMAPHORE_LOCAL_REPOSITORY_ROOTS": '["/srv/repos/"]',
    }
    config = load_config(str(path), environ=environ)
    assert config.task_sandbox is False
    assert config.task_sandbox_paths == ("/opt/tools", "/var/cache/tf:rw")
    assert config.local_repository_roots == ("/srv/repos",)
    assert config.config_file == str(path.resolve())  # hidden from tasks
    for key, value in (
        ("SEMAPHORE_LOCAL_REPOSITORY_ROOTS", '["srv/repos"]'),
        ("SEMAPHORE_TASK_SANDBOX_PATHS", '["relative:rw"]'),
        ("SEMAPHORE_TASK_SANDBOX", "maybe"),
    ):
        with pytest.raises(ConfigError) as raised:
            load_config(str(path), environ={key: value})
        assert raised.value.key == key.removeprefix("SEMAPHORE_").lower()


def test_password_min_length_default_file_and_environment(tmp_path):
    environ = {"SEMAPHORE_DATA_DIR": str(tmp_path)}
    assert load_config(environ=environ, use_file=False).password_min_length == 8
    path = write_config(tmp_path, {"password_min_length": 12})
    assert load_config(path, environ).password_min_length == 12
    overridden = {**environ, "SEMAPHORE_PASSWORD_MIN_LENGTH": "10"}
    assert load_config(path, overridden).password_min_length == 10
    with pytest.raises(ConfigError, match="password_min_length"):
        load_config(environ={**environ, "SEMAPHORE_PASSWORD_MIN_LENGTH": "0"}, use_file=False)
