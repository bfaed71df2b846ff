"""Bringing the database schema up to date (Alembic, through Flask-Migrate).

Only this module loads Alembic (about 11 MB): `semaphore migrate`, `setup`, and the server,
which upgrades in a short-lived child so that the processes serving requests never hold it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, current_app

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def upgrade_database() -> None:
    """Apply every pending migration (needs an app context)."""
    from flask_migrate import Migrate, upgrade

    from semaphore.extensions import db

    app = current_app._get_current_object()
    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    # Alembic logs each step at INFO; the CLI prints its own one-line summary instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade()


def upgrade_in_child(app: Flask) -> None:
    """Upgrade in a forked child and wait for it: this process never imports Alembic.

    Raises:
        RuntimeError: the upgrade failed (the child's error is on stderr).
    """
    pid = os.fork()
    if pid == 0:  # the child: upgrade, then leave without running the parent's cleanups
        status = 1
        try:
            with app.app_context():
                upgrade_database()
            status = 0
        except BaseException:  # noqa: BLE001 - reported through the exit status
            logging.getLogger(__name__).exception("database upgrade failed")
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("the database upgrade failed; see the messages above")
