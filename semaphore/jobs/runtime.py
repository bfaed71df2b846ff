"""The app a worker built once at start, for jobs to run inside its context."""

from __future__ import annotations

import os

from flask import Flask

from semaphore.extensions import db

_state: dict[str, object] = {"app": None, "pid": None}


def set_app(app: Flask) -> None:
    """Called by the worker (or a test) before any job runs."""
    _state["app"] = app
    _state["pid"] = os.getpid()


def get_app() -> Flask:
    """The worker's app, with fresh database connections in a forked child (a test's, or an RQ
    worker that forks)."""
    app = _state["app"]
    if app is None:
        from semaphore import create_app

        app = create_app(web=False)
        set_app(app)
    if _state["pid"] != os.getpid():
        # A forked child must not reuse the parent's pooled connections.
        with app.app_context():
            db.engine.dispose(close=False)
        _state["pid"] = os.getpid()
    return app
