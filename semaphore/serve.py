"""`semaphore server`: gunicorn with threads, so that each WebSocket can hold one."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from semaphore import broker
from semaphore.config import Config
from semaphore.extensions import db


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def gunicorn_options(config: Config) -> dict[str, Any]:
    """gunicorn settings derived from the Config."""
    return {
        "bind": f"{config.interface or '0.0.0.0'}:{config.port}",
        "workers": config.web_workers,
        "worker_class": "gthread",
        "threads": config.web_threads,
        # A WebSocket holds its thread for as long as it is open; idle sockets are pinged.
        "timeout": 120,
        "graceful_timeout": 10,
        "keepalive": 5,
        # gunicorn 27's shared default control socket breaks a second instance on one machine.
        "control_socket_disable": True,
        "accesslog": "-",
        "loglevel": config.log_level.lower(),
    }


def serve(app: Flask, config: Config) -> None:
    """Serve until stopped."""
    with app.app_context():
        # Workers are forked from this process: they must not share its database connections.
        db.engine.dispose()
    # The embedded Redis, if used, is started here so it belongs to the server, not a worker.
    broker.redis_url()
    _Gunicorn(app, gunicorn_options(config)).run()
