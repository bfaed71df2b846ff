"""Semaphore (Python): run Ansible, Terraform/OpenTofu/Terragrunt and scripts from git."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from semaphore.version import __version__  # noqa: F401 - the package's version

if TYPE_CHECKING:
    from flask import Flask

# Nothing is imported here at module level: `python -m semaphore.embedded_redis` and the engine's
# supervisor load this package too, and each process imports what its role needs.


def create_app(config=None, *, web: bool = True) -> Flask:
    """Build the app from a Config (loaded from the file and environment when None).

    With `web` off, the app of a worker or the scheduler: configuration, the database and
    Redis, and none of the HTTP side (routes, pages, sessions, CSRF, WebSocket, migrations),
    whose modules that process then never imports.
    """
    from flask import Flask

    from semaphore import broker
    from semaphore.config import load_config
    from semaphore.extensions import db
    from semaphore.queue import changes
    from semaphore.queue import publish as live_publish
    from semaphore.services import audit

    config = config or load_config()
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        static_url_path="/static",
    )
    app.config.update(_flask_settings(config))
    # Keep fields in the order the original's API writes them.
    app.json.sort_keys = False
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app.logger.setLevel(config.log_level)

    _install_sqlite_pragmas()
    db.init_app(app)
    live_publish.install()
    changes.install()
    audit.install()
    broker.configure(config)
    if web:
        # The HTTP side in a module of its own: workers and the scheduler never load it.
        from semaphore.http_app import add_http_side

        add_http_side(app, config)
    return app


def _flask_settings(config) -> dict:
    https = config.web_host.startswith("https://")
    engine_options: dict = {"pool_pre_ping": True}
    if config.database_url.startswith("sqlite"):
        engine_options = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {
        "SEMAPHORE": config,
        "SECRET_KEY": config.secret_bytes("cookie_hash"),
        "SQLALCHEMY_DATABASE_URI": config.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "SESSION_COOKIE_NAME": "semaphore",
        # /api/ws: idle sockets are pinged; clients only ever send small messages.
        "SOCK_SERVER_OPTIONS": {"ping_interval": 25, "max_message_size": 512},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        # Backups with many templates are the biggest bodies we accept.
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
    }


def _install_sqlite_pragmas() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # SQLite leaves foreign keys off by default; WAL lets the web, worker and scheduler
    # processes read while one of them writes.
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
