"""The app a worker built once at start, for jobs to run inside its context."""

from __future__ import annotations

from flask import Flask

_state: dict[str, Flask | None] = {"app": None}


def set_app(app: Flask) -> None:
    """Called by the worker (or a test) before any job runs."""
    _state["app"] = app


def get_app() -> Flask:
    """The worker's app (built here when a job runs without a worker's: the RQ command line).

    The worker runs its jobs in its own process (jobs.worker), so the app's pooled database
    connections are its own: nothing is forked between building the app and using it.
    """
    app = _state["app"]
    if app is None:
        from semaphore import create_app

        app = create_app(web=False)
        set_app(app)
    return app
