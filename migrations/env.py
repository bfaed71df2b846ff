"""Alembic environment, run through Flask-Migrate inside an app context.

Logging is left to the app (no fileConfig here), so migrating from `semaphore server` does not
reset the server's log handlers.
"""

import logging

from alembic import context
from flask import current_app

from semaphore.models.base import UTCDateTime

config = context.config
logger = logging.getLogger("alembic.env")
target_db = current_app.extensions["migrate"].db


def _engine():
    return target_db.engine


def render_item(type_, obj, autogen_context):
    # UTCDateTime is a plain DATETIME in the database; migrations need not import our code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=_engine().url.render_as_string(hide_password=False),
        target_metadata=target_db.metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_autogenerate(context, revision, directives):
        # `flask db migrate` with no model change should not write an empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    configure_args = dict(current_app.extensions["migrate"].configure_args)
    configure_args.setdefault("process_revision_directives", skip_empty_autogenerate)
    configure_args.setdefault("compare_type", True)
    configure_args.setdefault("render_item", render_item)
    with _engine().connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_db.metadata, **configure_args
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
