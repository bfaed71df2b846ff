"""Bringing the database schema up to date (Alembic, through Flask-Migrate)."""

from __future__ import annotations

import logging

from flask_migrate import upgrade


def upgrade_database() -> None:
    """Apply every pending migration (needs an app context)."""
    # Alembic logs each step at INFO; the CLI prints its own one-line summary instead.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade()
