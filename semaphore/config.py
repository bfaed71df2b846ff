"""One frozen Config, read from defaults < config.json < SEMAPHORE_* environment variables.

Keys and environment names follow the original's config.json (see the README's configuration
table). Nothing else in the package reads os.environ: callers pass a Config to create_app().
"""

from __future__ import annotations

import base64
import fcntl
import ipaddress
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from semaphore.errors import ConfigError
from semaphore.runner_tags import tag_problem

DEFAULT_CONFIG_PATHS = (
    "config.json",
    "/usr/local/etc/semaphore/config.json",
    "/etc/semaphore/config.json",
)
SECRET_KEYS = ("cookie_hash", "cookie_encryption", "access_key_encryption")
LOG_LEVELS = {
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERROR": "ERROR",
    "FATAL": "CRITICAL",
    "PANIC": "CRITICAL",
}


@dataclass(frozen=True)
class RunnerConfig:
    """The `runner` object: a remote runner's own settings (`semaphore runner ...`)."""

    # The runner's token, given directly; else read from token_file, where `register` writes it.
    token: str = field(default="", repr=False)
    token_file: str = ""
    registration_token: str = field(default="", repr=False)
    webhook: str = ""
    max_parallel_tasks: int = 1  # 0 = unlimited
    one_off: bool = False  # exit once the first jobs it ran are done
    tags: tuple[str, ...] = ()  # ours: sent at registration


@dataclass(frozen=True)
class Config:
    """Everything the app, the workers and the scheduler need to know at start."""

    data_dir: str = "data"
    database_url: str = ""
    redis_url: str = ""
    interface: str = ""
    port: int = 3000
    tmp_path: str = "/tmp/semaphore"
    ssh_config_path: str = ""
    git_client: str = "cmd_git"
    web_host: str = ""
    log_level: str = "INFO"
    web_workers: int = 2
    web_threads: int = 64
    # Not in the original: how long a client may take to send a request (issue 15).
    web_header_timeout_sec: int = 10
    web_body_timeout_sec: int = 60
    # Open /api/ws sockets one user / one client address may hold (0: no limit).
    websocket_max_per_user: int = 20
    websocket_max_per_address: int = 50
    # Addresses or networks of reverse proxies whose X-Forwarded-For / X-Real-IP are believed.
    trusted_proxies: tuple[str, ...] = ()
    # GET /metrics (Prometheus, ours): off until one of these is set; with both, both must hold.
    metrics_token: str = field(default="", repr=False)
    metrics_allowed_networks: tuple[str, ...] = ()

    cookie_hash: str = ""
    cookie_encryption: str = ""
    access_key_encryption: str = ""

    max_parallel_tasks: int = 10
    max_task_duration_sec: int = 0
    max_tasks_per_template: int = 0
    # Ours: finished tasks whose end is older than this many days are deleted (0: kept), and a
    # task's stored output ends after this many lines with one saying how many were dropped.
    task_retention_days: int = 0
    max_task_output_lines: int = 0
    # Ours: the audit trail's events are also written as JSON lines to this file ("-": standard
    # output; empty: not written), and deleted after this many days (0: kept).
    audit_log_file: str = ""
    audit_retention_days: int = 0
    password_login_disable: bool = False
    non_admin_can_create_project: bool = False
    use_remote_runner: bool = False
    runner_registration_token: str = ""
    # Seconds without a poll after which a runner counts as offline (ours).
    runner_timeout: int = 30
    global_integration_alias: str = ""
    login_max_failures: int = 5
    login_lockout_sec: int = 300
    bcrypt_cost: int = 11
    # Ours: the shortest password a user may set (the original accepts any length).
    password_min_length: int = 8

    email_alert: bool = False
    email_sender: str = ""
    email_host: str = ""
    email_port: int = 25
    email_username: str = ""
    email_password: str = ""
    email_secure: bool = False
    email_tls: bool = False

    ldap_enable: bool = False
    ldap_binddn: str = ""
    ldap_bindpassword: str = ""
    ldap_server: str = ""
    ldap_searchdn: str = ""
    ldap_searchfilter: str = ""
    ldap_needtls: bool = False
    ldap_mappings: Mapping[str, str] = field(
        default_factory=lambda: {"dn": "dn", "mail": "mail", "uid": "uid", "cn": "cn"}
    )

    telegram_alert: bool = False
    telegram_chat: str = ""
    telegram_token: str = ""
    # Not in the original, which always calls api.telegram.org: a Bot API server of your own
    # (or a test's) can stand in.
    telegram_api_url: str = "https://api.telegram.org"
    slack_alert: bool = False
    slack_url: str = ""
    rocketchat_alert: bool = False
    rocketchat_url: str = ""
    microsoft_teams_alert: bool = False
    microsoft_teams_url: str = ""
    dingtalk_alert: bool = False
    dingtalk_url: str = ""
    gotify_alert: bool = False
    gotify_url: str = ""
    gotify_token: str = ""

    oidc_providers: Mapping[str, Any] = field(default_factory=dict)
    apps: Mapping[str, Any] = field(default_factory=dict)
    env_vars: Mapping[str, str] = field(default_factory=dict)
    forwarded_env_vars: tuple[str, ...] = ()
    # Not in the original (issue 15): tools run in a bubblewrap sandbox seeing only their run's
    # files and the tools; more paths can be shown ("/path", "/path:rw"); a repository may be a
    # local path only under one of local_repository_roots (none by default).
    task_sandbox: bool = True
    task_sandbox_paths: tuple[str, ...] = ()
    local_repository_roots: tuple[str, ...] = ()
    # The config file read at start ("" without one), which tasks must not see.
    config_file: str = ""
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    # `schedule.timezone`: the IANA zone cron fields are read in, unless a schedule names its
    # own with a CRON_TZ= prefix.
    schedule_timezone: str = "UTC"

    @property
    def web_root_path(self) -> str:
        """The path part of web_host ("" or "/prefix"), under which every route is served."""
        return urlsplit(self.web_host).path.rstrip("/") if self.web_host else ""

    def secret_bytes(self, key: str) -> bytes:
        """The decoded 32-byte value of one of the SECRET_KEYS."""
        return base64.b64decode(getattr(self, key))

    def with_overrides(self, **changes: Any) -> Config:
        """A copy with some fields changed (tests and the CLI use it)."""
        return replace(self, **changes)


# --- parsers -------------------------------------------------------------------------------------


def _parse_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
    raise ConfigError(key, f"expected a boolean (true/false/1/0/yes/no), got {value!r}")


def _parse_int(key: str, value: Any, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool):
        raise ConfigError(key, f"expected an integer, got {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(key, f"expected an integer, got {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise ConfigError(key, f"must be at least {minimum}{upper}, got {number}")
    return number


def _parse_non_negative(key: str, value: Any) -> int:
    return _parse_int(key, value)


def _parse_positive(key: str, value: Any) -> int:
    return _parse_int(key, value, minimum=1)


def _parse_bcrypt_cost(key: str, value: Any) -> int:
    return _parse_int(key, value, minimum=4, maximum=15)


def _parse_port(key: str, value: Any) -> int:
    # The original writes the port as ":3000"; plain numbers are accepted too.
    text = str(value).strip().lstrip(":") if not isinstance(value, int) else value
    return _parse_int(key, text, minimum=1, maximum=65535)


def _parse_str(key: str, value: Any) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(key, f"expected a string, got {type(value).__name__}")


def _parse_json_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(key, f"not valid JSON: {exc.msg}") from None
    return value


def _parse_map(key: str, value: Any) -> Mapping[str, Any]:
    parsed = _parse_json_value(key, value)
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise ConfigError(key, "expected a JSON object")
    return parsed


def _parse_str_map(key: str, value: Any) -> Mapping[str, str]:
    parsed = _parse_map(key, value)
    if not all(isinstance(v, str) for v in parsed.values()):
        raise ConfigError(key, "expected an object of strings")
    return parsed


def _parse_str_list(key: str, value: Any) -> tuple[str, ...]:
    parsed = _parse_json_value(key, value)
    if parsed is None:
        return ()
    if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
        raise ConfigError(key, "expected a JSON array of strings")
    return tuple(parsed)


def _parse_networks(key: str, value: Any) -> tuple[str, ...]:
    networks = []
    for text in _parse_str_list(key, value):
        try:
            networks.append(str(ipaddress.ip_network(text.strip(), strict=False)))
        except ValueError:
            raise ConfigError(key, f"not an IP address or network: {text!r}") from None
    return tuple(networks)


def _parse_paths(key: str, value: Any, suffixes: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A JSON list of absolute paths, each optionally ending in one of the suffixes."""
    paths = []
    for text in _parse_str_list(key, value):
        bare = next((text.removesuffix(s) for s in suffixes if text.endswith(s)), text)
        if not os.path.isabs(bare):
            raise ConfigError(key, f"expected absolute paths, got {text!r}")
        paths.append(os.path.normpath(bare) + text[len(bare) :])
    return tuple(paths)


def _parse_sandbox_paths(key: str, value: Any) -> tuple[str, ...]:
    return _parse_paths(key, value, (":rw", ":ro"))


def _parse_secret(key: str, value: Any) -> str:
    text = _parse_str(key, value).strip()
    if not text:
        return ""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ConfigError(key, "expected base64 (`head -c32 /dev/urandom | base64`)") from None
    if len(raw) not in (16, 24, 32):
        raise ConfigError(key, f"must decode to 16, 24 or 32 bytes, got {len(raw)}")
    return text


def _parse_log_level(key: str, value: Any) -> str:
    level = _parse_str(key, value).strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(key, f"expected one of {', '.join(sorted(LOG_LEVELS))}, got {value!r}")
    return LOG_LEVELS[level]


def _parse_git_client(key: str, value: Any) -> str:
    client = _parse_str(key, value).strip() or "cmd_git"
    if client not in ("cmd_git", "go_git"):
        raise ConfigError(key, f"expected cmd_git or go_git, got {value!r}")
    return client


def _parse_web_host(key: str, value: Any) -> str:
    url = _parse_str(key, value).strip().rstrip("/")
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(key, f"expected an http:// or https:// URL, got {value!r}")
    return url


def _parse_http_url(key: str, value: Any) -> str:
    url = _parse_web_host(key, value)
    if not url:
        raise ConfigError(key, "expected an http:// or https:// URL, got an empty value")
    return url


def _parse_runner_tags(key: str, value: Any) -> tuple[str, ...]:
    """A JSON array of tags, or (from the environment) tags separated by commas."""
    if isinstance(value, str) and not value.lstrip().startswith("["):
        value = [tag for tag in value.split(",") if tag.strip()]
    tags = [tag.strip() for tag in _parse_str_list(key, value)]
    for tag in tags:
        # The server's rule for a runner's tags: refused here, at start, not at registration.
        problem = tag_problem(tag)
        if problem is not None:
            raise ConfigError(key, f"{problem}, got {tag!r}")
    return tuple(dict.fromkeys(tags))


def _parse_timezone(key: str, value: Any) -> str:
    """An IANA time zone name ("Europe/Berlin"); empty means UTC."""
    name = _parse_str(key, value).strip() or "UTC"
    try:
        ZoneInfo(name)
    # OSError: a directory of the zone database ("Europe") or too long a path.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            key, f"unknown time zone {name!r}: expected an IANA name such as Europe/Berlin or UTC"
        ) from None
    return name


def _parse_ldap_mappings(key: str, value: Any) -> Mapping[str, str]:
    merged = {"dn": "dn", "mail": "mail", "uid": "uid", "cn": "cn"}
    merged.update({k: v for k, v in _parse_str_map(key, value).items() if v})
    return merged


Parser = Callable[[str, Any], Any]

# key -> (environment variable, parser). Keys are the original's config.json names.
FIELD_SPECS: dict[str, tuple[str, Parser]] = {
    "data_dir": ("SEMAPHORE_DATA_DIR", _parse_str),
    "redis_url": ("SEMAPHORE_REDIS_URL", _parse_str),
    "interface": ("SEMAPHORE_INTERFACE", _parse_str),
    "port": ("SEMAPHORE_PORT", _parse_port),
    "tmp_path": ("SEMAPHORE_TMP_PATH", _parse_str),
    "ssh_config_path": ("SEMAPHORE_SSH_PATH", _parse_str),
    "git_client": ("SEMAPHORE_GIT_CLIENT", _parse_git_client),
    "web_host": ("SEMAPHORE_WEB_ROOT", _parse_web_host),
    "log_level": ("SEMAPHORE_LOG_LEVEL", _parse_log_level),
    "web_workers": ("SEMAPHORE_WEB_WORKERS", _parse_positive),
    "web_threads": ("SEMAPHORE_WEB_THREADS", _parse_positive),
    "web_header_timeout_sec": ("SEMAPHORE_WEB_HEADER_TIMEOUT_SEC", _parse_positive),
    "web_body_timeout_sec": ("SEMAPHORE_WEB_BODY_TIMEOUT_SEC", _parse_positive),
    "websocket_max_per_user": ("SEMAPHORE_WEBSOCKET_MAX_PER_USER", _parse_non_negative),
    "websocket_max_per_address": ("SEMAPHORE_WEBSOCKET_MAX_PER_ADDRESS", _parse_non_negative),
    "trusted_proxies": ("SEMAPHORE_TRUSTED_PROXIES", _parse_networks),
    "metrics_token": ("SEMAPHORE_METRICS_TOKEN", _parse_str),
    "metrics_allowed_networks": ("SEMAPHORE_METRICS_ALLOWED_NETWORKS", _parse_networks),
    "cookie_hash": ("SEMAPHORE_COOKIE_HASH", _parse_secret),
    "cookie_encryption": ("SEMAPHORE_COOKIE_ENCRYPTION", _parse_secret),
    "access_key_encryption": ("SEMAPHORE_ACCESS_KEY_ENCRYPTION", _parse_secret),
    "max_parallel_tasks": ("SEMAPHORE_MAX_PARALLEL_TASKS", _parse_non_negative),
    "max_task_duration_sec": ("SEMAPHORE_MAX_TASK_DURATION_SEC", _parse_non_negative),
    "max_tasks_per_template": ("SEMAPHORE_MAX_TASKS_PER_TEMPLATE", _parse_non_negative),
    "task_retention_days": ("SEMAPHORE_TASK_RETENTION_DAYS", _parse_non_negative),
    "max_task_output_lines": ("SEMAPHORE_MAX_TASK_OUTPUT_LINES", _parse_non_negative),
    "audit_log_file": ("SEMAPHORE_AUDIT_LOG_FILE", _parse_str),
    "audit_retention_days": ("SEMAPHORE_AUDIT_RETENTION_DAYS", _parse_non_negative),
    "password_login_disable": ("SEMAPHORE_PASSWORD_LOGIN_DISABLED", _parse_bool),
    "non_admin_can_create_project": ("SEMAPHORE_NON_ADMIN_CAN_CREATE_PROJECT", _parse_bool),
    "use_remote_runner": ("SEMAPHORE_USE_REMOTE_RUNNER", _parse_bool),
    "runner_registration_token": ("SEMAPHORE_RUNNER_REGISTRATION_TOKEN", _parse_str),
    "runner_timeout": ("SEMAPHORE_RUNNER_TIMEOUT", _parse_positive),
    "global_integration_alias": ("SEMAPHORE_INTEGRATION_ALIAS", _parse_str),
    "login_max_failures": ("SEMAPHORE_LOGIN_MAX_FAILURES", _parse_positive),
    "login_lockout_sec": ("SEMAPHORE_LOGIN_LOCKOUT_SEC", _parse_positive),
    "bcrypt_cost": ("SEMAPHORE_BCRYPT_COST", _parse_bcrypt_cost),
    "password_min_length": ("SEMAPHORE_PASSWORD_MIN_LENGTH", _parse_positive),
    "email_alert": ("SEMAPHORE_EMAIL_ALERT", _parse_bool),
    "email_sender": ("SEMAPHORE_EMAIL_SENDER", _parse_str),
    "email_host": ("SEMAPHORE_EMAIL_HOST", _parse_str),
    "email_port": ("SEMAPHORE_EMAIL_PORT", _parse_port),
    "email_username": ("SEMAPHORE_EMAIL_USERNAME", _parse_str),
    "email_password": ("SEMAPHORE_EMAIL_PASSWORD", _parse_str),
    "email_secure": ("SEMAPHORE_EMAIL_SECURE", _parse_bool),
    "email_tls": ("SEMAPHORE_EMAIL_TLS", _parse_bool),
    "ldap_enable": ("SEMAPHORE_LDAP_ENABLE", _parse_bool),
    "ldap_binddn": ("SEMAPHORE_LDAP_BIND_DN", _parse_str),
    "ldap_bindpassword": ("SEMAPHORE_LDAP_BIND_PASSWORD", _parse_str),
    "ldap_server": ("SEMAPHORE_LDAP_SERVER", _parse_str),
    "ldap_searchdn": ("SEMAPHORE_LDAP_SEARCH_DN", _parse_str),
    "ldap_searchfilter": ("SEMAPHORE_LDAP_SEARCH_FILTER", _parse_str),
    "ldap_needtls": ("SEMAPHORE_LDAP_NEEDTLS", _parse_bool),
    "ldap_mappings": ("", _parse_ldap_mappings),
    "telegram_alert": ("SEMAPHORE_TELEGRAM_ALERT", _parse_bool),
    "telegram_chat": ("SEMAPHORE_TELEGRAM_CHAT", _parse_str),
    "telegram_token": ("SEMAPHORE_TELEGRAM_TOKEN", _parse_str),
    "telegram_api_url": ("SEMAPHORE_TELEGRAM_API_URL", _parse_http_url),
    "slack_alert": ("SEMAPHORE_SLACK_ALERT", _parse_bool),
    "slack_url": ("SEMAPHORE_SLACK_URL", _parse_str),
    "rocketchat_alert": ("SEMAPHORE_ROCKETCHAT_ALERT", _parse_bool),
    "rocketchat_url": ("SEMAPHORE_ROCKETCHAT_URL", _parse_str),
    "microsoft_teams_alert": ("SEMAPHORE_MICROSOFT_TEAMS_ALERT", _parse_bool),
    "microsoft_teams_url": ("SEMAPHORE_MICROSOFT_TEAMS_URL", _parse_str),
    "dingtalk_alert": ("SEMAPHORE_DINGTALK_ALERT", _parse_bool),
    "dingtalk_url": ("SEMAPHORE_DINGTALK_URL", _parse_str),
    "gotify_alert": ("SEMAPHORE_GOTIFY_ALERT", _parse_bool),
    "gotify_url": ("SEMAPHORE_GOTIFY_URL", _parse_str),
    "gotify_token": ("SEMAPHORE_GOTIFY_TOKEN", _parse_str),
    "oidc_providers": ("", _parse_map),
    "apps": ("SEMAPHORE_APPS", _parse_map),
    "env_vars": ("SEMAPHORE_ENV_VARS", _parse_str_map),
    "forwarded_env_vars": ("SEMAPHORE_FORWARDED_ENV_VARS", _parse_str_list),
    "task_sandbox": ("SEMAPHORE_TASK_SANDBOX", _parse_bool),
    "task_sandbox_paths": ("SEMAPHORE_TASK_SANDBOX_PATHS", _parse_sandbox_paths),
    "local_repository_roots": ("SEMAPHORE_LOCAL_REPOSITORY_ROOTS", _parse_paths),
}
# runner.<key> -> (environment variable, parser): the original's runner keys, plus tags.
RUNNER_SPECS: dict[str, tuple[str, Parser]] = {
    "token": ("SEMAPHORE_RUNNER_TOKEN", _parse_str),
    "token_file": ("SEMAPHORE_RUNNER_TOKEN_FILE", _parse_str),
    # The server's runner_registration_token reads the same variable: in a docker setup both
    # sides are given one value.
    "registration_token": ("SEMAPHORE_RUNNER_REGISTRATION_TOKEN", _parse_str),
    "webhook": ("SEMAPHORE_RUNNER_WEBHOOK", _parse_web_host),
    "max_parallel_tasks": ("SEMAPHORE_RUNNER_MAX_PARALLEL_TASKS", _parse_non_negative),
    "one_off": ("SEMAPHORE_RUNNER_ONE_OFF", _parse_bool),
    "tags": ("SEMAPHORE_RUNNER_TAGS", _parse_runner_tags),
}
# schedule.<key> -> (environment variable, parser): the original's `schedule` object.
SCHEDULE_SPECS: dict[str, tuple[str, Parser]] = {
    "timezone": ("SEMAPHORE_SCHEDULE_TIMEZONE", _parse_timezone),
}
LDAP_MAPPING_ENV = {
    name: f"SEMAPHORE_LDAP_MAPPING_{name.upper()}" for name in ("dn", "mail", "uid", "cn")
}

# The database keys are handled apart: they combine into one SQLAlchemy URL.
DATABASE_KEYS = ("dialect", "database_url", "sqlite", "postgres", "mysql", "bolt")
DB_BLOCK_ENV = {
    "host": ("SEMAPHORE_DB_HOST",),
    "port": ("SEMAPHORE_DB_PORT",),
    "user": ("SEMAPHORE_DB_USER",),
    "pass": ("SEMAPHORE_DB_PASS",),
    "name": ("SEMAPHORE_DB", "SEMAPHORE_DB_NAME"),
    "options": ("SEMAPHORE_DB_OPTIONS",),
}
URL_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}


# --- loading -------------------------------------------------------------------------------------


def find_config_file(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """The config.json to read: --config, else $SEMAPHORE_CONFIG_PATH, else a default location."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError("config", f"file not found: {explicit}")
        return path
    if environ.get("SEMAPHORE_CONFIG_PATH"):
        return find_config_file(environ["SEMAPHORE_CONFIG_PATH"], {})
    return next((Path(p) for p in DEFAULT_CONFIG_PATHS if Path(p).is_file()), None)


def read_config_file(path: Path | None) -> dict[str, Any]:
    """The parsed JSON object in the config file (empty when there is none)."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("config", f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            "config", f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError("config", f"{path} must hold a JSON object")
    return data


def load_config(
    path: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    use_file: bool = True,
    persist_secrets: bool = True,
) -> Config:
    """Build the Config from the file and the environment; fill missing secrets.

    Raises:
        ConfigError: a value is invalid; the message names the key.
    """
    environ = os.environ if environ is None else environ
    config_file = find_config_file(path, environ) if use_file else None
    file_values = read_config_file(config_file)
    values = _parse_keys(FIELD_SPECS, file_values, environ)
    mappings = dict(values.get("ldap_mappings", Config().ldap_mappings))
    for name, env_name in LDAP_MAPPING_ENV.items():
        if environ.get(env_name):
            mappings[name] = environ[env_name]
    values["ldap_mappings"] = mappings

    values["runner"] = runner_config_from(file_values.get("runner"), environ)
    values["schedule_timezone"] = schedule_timezone_from(file_values.get("schedule"), environ)
    data_dir = str(values.get("data_dir") or Config.data_dir)
    values["database_url"] = database_url_from(file_values, environ, data_dir)
    values["config_file"] = str(config_file.resolve()) if config_file else ""
    config = Config(**values)
    missing = [key for key in SECRET_KEYS if not getattr(config, key)]
    if missing:
        config = replace(config, **load_or_create_secrets(Path(data_dir), missing, persist_secrets))
    return config


def runner_config_from(block: Any, environ: Mapping[str, str]) -> RunnerConfig:
    """The `runner` object of the file, each key overridden by its SEMAPHORE_RUNNER_* variable.

    Raises:
        ConfigError: a value is invalid; the message names `runner.<key>`.
    """
    block = _file_object("runner", block, "token_file, webhook, tags, ...")
    return RunnerConfig(**_parse_keys(RUNNER_SPECS, block, environ, prefix="runner."))


def schedule_timezone_from(block: Any, environ: Mapping[str, str]) -> str:
    """`schedule.timezone` of the file, overridden by SEMAPHORE_SCHEDULE_TIMEZONE; UTC when
    neither is set.

    Raises:
        ConfigError: not an IANA zone name; the message names `schedule.timezone`.
    """
    block = _file_object("schedule", block, "timezone")
    values = _parse_keys(SCHEDULE_SPECS, block, environ, prefix="schedule.")
    return values.get("timezone", Config.schedule_timezone)


def _file_object(key: str, block: Any, keys: str) -> Mapping[str, Any]:
    """A nested object of the file ({} when absent).

    Raises:
        ConfigError: it is not an object.
    """
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ConfigError(key, f"expected an object with {keys}")
    return block


def _parse_keys(
    specs: Mapping[str, tuple[str, Parser]],
    file_values: Mapping[str, Any],
    environ: Mapping[str, str],
    prefix: str = "",
) -> dict[str, Any]:
    """Each key's value: its variable's when set, else the file's (null counts as unset);
    errors name `prefix + key`."""
    values: dict[str, Any] = {}
    for key, (env_name, parser) in specs.items():
        if env_name and env_name in environ:
            values[key] = parser(prefix + key, environ[env_name])
        elif file_values.get(key) is not None:
            values[key] = parser(prefix + key, file_values[key])
    return values


def database_url_from(
    file_values: Mapping[str, Any], environ: Mapping[str, str], data_dir: str
) -> str:
    """One SQLAlchemy URL from database_url, or from dialect + its block (the original's keys)."""
    url = environ.get("SEMAPHORE_DB_URL") or file_values.get("database_url") or ""
    if url:
        return normalize_database_url(str(url))
    dialect = (
        environ.get("SEMAPHORE_DB_DIALECT") or file_values.get("dialect") or "sqlite"
    ).lower()
    if dialect == "bolt":
        raise ConfigError(
            "dialect", "bolt (BoltDB) is not supported: use sqlite, postgres or mysql"
        )
    if dialect not in ("sqlite", "postgres", "mysql"):
        raise ConfigError("dialect", f"expected sqlite, postgres or mysql, got {dialect!r}")
    block = file_values.get(dialect) or {}
    if not isinstance(block, dict):
        raise ConfigError(dialect, "expected an object with host, user, pass, name, options")
    block = dict(block)
    for name, env_names in DB_BLOCK_ENV.items():
        for env_name in env_names:
            if env_name in environ:
                block[name] = environ[env_name]
    if dialect == "sqlite":
        path = str(block.get("host") or Path(data_dir) / "semaphore.db")
        return f"sqlite:///{os.path.abspath(path)}"
    return _server_database_url(dialect, block)


def _server_database_url(dialect: str, block: Mapping[str, Any]) -> str:
    host = str(block.get("host") or "127.0.0.1")
    if block.get("port"):
        host = f"{host.rsplit(':', 1)[0]}:{_parse_port(f'{dialect}.port', block['port'])}"
    name = str(block.get("name") or "semaphore")
    user = quote(str(block.get("user") or ""), safe="")
    password = quote(str(block.get("pass") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    options = _parse_map(f"{dialect}.options", block.get("options") or {})
    query = f"?{urlencode({k: str(v) for k, v in options.items()})}" if options else ""
    return f"{URL_DRIVERS[dialect]}://{credentials}{host}/{quote(name, safe='')}{query}"


def normalize_database_url(url: str) -> str:
    """Map postgres:// and mysql:// style URLs to the drivers we ship (psycopg 3, PyMySQL)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError("database_url", f"not a URL: {url!r}")
    base = scheme.split("+", 1)[0].lower()
    if base in URL_DRIVERS:
        return f"{URL_DRIVERS[base]}://{rest}"
    if base == "sqlite":
        return url
    raise ConfigError(
        "database_url", f"unsupported database {scheme!r}: use sqlite, postgres or mysql"
    )


def load_or_create_secrets(data_dir: Path, keys: list[str], persist: bool) -> dict[str, str]:
    """Secrets kept in <data_dir>/secrets.json, generated the first time and never logged."""
    secrets_file = data_dir / "secrets.json"
    stored: dict[str, str] = {}
    if secrets_file.is_file():
        try:
            stored = json.loads(secrets_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError("secrets", f"{secrets_file} is unreadable: {exc}") from None
        for key in keys:
            if key in stored:
                _parse_secret(f"{secrets_file}: {key}", stored[key])
    if all(stored.get(key) for key in keys):
        return {key: stored[key] for key in keys}
    if not persist:
        return {key: stored.get(key) or _new_secret() for key in keys}
    data_dir.mkdir(parents=True, exist_ok=True)
    # web, worker and scheduler may start together: one of them generates, the others wait and
    # read, so that all three encrypt and sign with the same keys.
    with open(data_dir / "secrets.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if secrets_file.is_file():
            stored = json.loads(secrets_file.read_text(encoding="utf-8"))
        for key in keys:
            stored[key] = stored.get(key) or _new_secret()
        tmp = secrets_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(stored, handle, indent=2)
        os.replace(tmp, secrets_file)
    return {key: stored[key] for key in keys}


def _new_secret() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def config_keys() -> list[tuple[str, str, str]]:
    """(key, environment variable, default) for every key; the README's table comes from this."""
    defaults = Config()
    rows = []
    for item in fields(Config):
        if item.name in FIELD_SPECS:
            env_name = FIELD_SPECS[item.name][0]
            rows.append((item.name, env_name, repr(getattr(defaults, item.name))))
    return rows


def current_config() -> Config:
    """The Config that create_app() was given (inside an app context: services, jobs, CLI)."""
    from flask import current_app  # config stays importable without Flask set up

    return current_app.config["SEMAPHORE"]
