"""`semaphore server`: gunicorn with threads (each WebSocket holds one), whose worker reads every
request before a thread runs it (semaphore/server/worker.py), so slow clients hold no thread."""

from __future__ import annotations

import gc
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from semaphore import broker, memory, metrics
from semaphore.config import Config
from semaphore.extensions import db
from semaphore.server.buffering import RequestLimits

DEFAULT_INTERFACE = "127.0.0.1"
MAX_REQUEST_LINE = 8190
MAX_HEADER_FIELD = 8190
MAX_HEAD = 64 * 1024


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any], limits: RequestLimits) -> None:
        self.application = app
        self.options = options
        # Read by the worker class (it gets this object as its `app`).
        self.request_limits = limits
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def bind_address(config: Config) -> str:
    """host:port to listen on: `interface` (loopback when empty) and `port`."""
    host = config.interface or DEFAULT_INTERFACE
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"{host}:{config.port}"


def request_limits(config: Config, app: Flask | None = None) -> RequestLimits:
    """How long and how big a request may be before the server refuses it itself."""
    max_body = (app.config.get("MAX_CONTENT_LENGTH") if app is not None else None) or (
        RequestLimits.max_body
    )
    return RequestLimits(
        header_timeout=float(config.web_header_timeout_sec),
        body_timeout=float(config.web_body_timeout_sec),
        max_request_line=MAX_REQUEST_LINE,
        max_head=MAX_HEAD,
        max_body=int(max_body),
        root_path=config.web_root_path,
    )


def gunicorn_options(config: Config) -> dict[str, Any]:
    """gunicorn settings derived from the Config."""
    return {
        "bind": bind_address(config),
        "workers": config.web_workers,
        "worker_class": "semaphore.server.worker.BufferedThreadWorker",
        "threads": config.web_threads,
        # A WebSocket holds its thread for as long as it is open; idle sockets are pinged.
        "timeout": 120,
        "graceful_timeout": 10,
        "keepalive": 5,
        "limit_request_line": MAX_REQUEST_LINE,
        "limit_request_field_size": MAX_HEADER_FIELD,
        # X-Forwarded-Proto and its kind are believed from the trusted proxies only, as
        # X-Forwarded-For is by semaphore/identity.py.
        "forwarded_allow_ips": ",".join(config.trusted_proxies),
        # gunicorn 27's shared default control socket breaks a second instance on one machine.
        "control_socket_disable": True,
        "accesslog": "-",
        # A web process that ended: its live gauges (open WebSockets) stop counting.
        "child_exit": _child_exit,
        "loglevel": config.log_level.lower(),
    }


def _child_exit(server: Any, worker: Any) -> None:
    metrics.mark_process_dead(worker.pid)


def serve(app: Flask, config: Config) -> None:
    """Serve until stopped."""
    with app.app_context():
        # Workers are forked from this process: they must not share its database connections.
        db.engine.dispose()
    # The embedded Redis, if used, is started here so it belongs to the server, not a worker.
    broker.redis_url()
    # Inherited by the forked workers, whose threads would each keep an arena of their own.
    memory.limit_arenas()
    # What the app holds once loaded lives as long as the workers: left to the collector, each
    # worker's full collections walked all of it, 60-150 ms with every thread stopped (the
    # templates list's p99, issue 17); frozen, they take 2-8 ms.
    gc.freeze()
    _Gunicorn(app, gunicorn_options(config), request_limits(config, app)).run()
