"""Facts about this installation: version, Ansible's version, enabled login methods."""

from __future__ import annotations

import functools
import subprocess
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from semaphore import broker
from semaphore.config import current_config
from semaphore.errors import ServiceUnavailable
from semaphore.executables import find_executable
from semaphore.extensions import db
from semaphore.version import __version__


@functools.cache
def ansible_version() -> str:
    """`ansible --version` output, read once per process ("" when Ansible is missing)."""
    binary = find_executable("ansible")
    if binary is None:
        return ""
    try:
        result = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip()


def info() -> dict[str, Any]:
    """The /api/info document."""
    config = current_config()
    return {
        "version": __version__,
        "ansible": ansible_version(),
        "web_host": config.web_host,
        "use_remote_runner": config.use_remote_runner,
        "git_client": "cmd_git",
        "schedule_timezone": config.schedule_timezone,
        "auth_methods": {
            "password": not config.password_login_disable,
            "ldap": config.ldap_enable,
            "oidc": sorted(config.oidc_providers),
        },
        "features": {},
    }


def login_metadata() -> dict[str, Any]:
    """What the login page offers: OIDC providers, and whether passwords are accepted."""
    config = current_config()
    providers = sorted(
        config.oidc_providers.items(), key=lambda item: (item[1].get("order", 0), item[0])
    )
    return {
        "oidc_providers": [
            {
                "id": provider_id,
                "name": settings.get("display_name") or provider_id,
                "color": settings.get("color", ""),
                "icon": settings.get("icon", ""),
            }
            for provider_id, settings in providers
        ],
        "login_with_password": not config.password_login_disable,
    }


def readiness() -> dict[str, str]:
    """Whether this process can serve: the database and Redis both answer.

    What failed is named, never why (a driver's message can carry a connection string).

    Raises:
        ServiceUnavailable: one of them does not answer; `extra` holds each check's result.
    """
    checks = {"database": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        checks["database"] = "unreachable"
    try:
        broker.connection().ping()
    except (redis.RedisError, OSError):
        checks["redis"] = "unreachable"
    failed = [name for name, state in checks.items() if state != "ok"]
    if failed:
        error = ServiceUnavailable(f"Not ready: {' and '.join(failed)} unreachable")
        error.extra = checks
        raise error
    return {"status": "ready", **checks}
