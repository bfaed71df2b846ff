"""Semaphore (Python): run Ansible, Terraform/OpenTofu/Terragrunt and scripts from git."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from semaphore.version import __version__  # noqa: F401 - the package's version


def create_app(config=None) -> Flask:
    """Build the WSGI app from a Config (loaded from the file and environment when None)."""
    from semaphore import broker
    from semaphore.config import load_config
    from semaphore.extensions import csrf, db, login_manager, migrate, sock
    from semaphore.queue import publish as live_publish
    from semaphore.security import cookies as session_cookies
    from semaphore.security import headers as security_headers
    from semaphore.wsgi_middleware import IdConverter, PrefixMiddleware, StripTrailingSlash

    config = config or load_config()
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        static_url_path="/static",
    )
    app.config.update(_flask_settings(config))
    # Before any route is added: every <int:...> of every blueprint uses it.
    app.url_map.converters["int"] = IdConverter
    # Keep fields in the order the original's API writes them.
    app.json.sort_keys = False
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app.logger.setLevel(config.log_level)

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    sock.init_app(app)
    security_headers.init_app(app)
    session_cookies.init_app(app)
    live_publish.install()
    broker.configure(config)

    from semaphore import identity
    from semaphore.api import api_blueprint, openapi
    from semaphore.web import register_web

    identity.init_app(app)
    app.register_blueprint(api_blueprint)
    csrf.exempt(api_blueprint)
    register_web(app)
    openapi.register(app)
    _register_error_handlers(app)

    app.wsgi_app = StripTrailingSlash(app.wsgi_app)
    if config.web_root_path:
        app.wsgi_app = PrefixMiddleware(app.wsgi_app, config.web_root_path)
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


def _register_error_handlers(app: Flask) -> None:
    """API paths answer JSON, pages answer HTML, whatever went wrong."""
    from werkzeug.exceptions import HTTPException

    from semaphore.api import errors as api_errors
    from semaphore.errors import SemaphoreError
    from semaphore.web import errors as web_errors

    @app.errorhandler(SemaphoreError)
    def _semaphore_error(exc):
        if api_errors.is_api_request():
            return api_errors.handle_semaphore_error(exc)
        return web_errors.handle_semaphore_error(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        if api_errors.is_api_request():
            return api_errors.handle_http_error(exc)
        return web_errors.handle_http_error(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        api_errors.log_unexpected(exc)
        if api_errors.is_api_request():
            return api_errors.error_response("Internal server error", 500)
        return web_errors.error_page(500, "Something went wrong on our side; it has been logged.")


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


@event.listens_for(Engine, "connect")
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
