"""The running app's Config, for services (which always run inside an app context)."""

from __future__ import annotations

from flask import current_app

from semaphore.config import Config


def current_config() -> Config:
    """The Config that create_app() was given."""
    return current_app.config["SEMAPHORE"]
