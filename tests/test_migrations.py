"""One Alembic chain takes an empty SQLite and an empty PostgreSQL to head, matching the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade
from sqlalchemy import inspect, text

from semaphore import create_app
from semaphore.database import upgrade_database
from semaphore.extensions import db
from semaphore.models import Base
from tests.conftest import make_config


@pytest.fixture
def empty_database_url(backend, request, tmp_path):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("postgres").create_database("semaphore_migrations")


@pytest.fixture
def fresh_app(empty_database_url, tmp_path, redis_server):
    app = create_app(make_config(tmp_path / "data", empty_database_url, redis_server.url))
    with app.app_context():
        yield app
        db.engine.dispose()


def _schema_differences():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_upgrade_from_empty_matches_the_models(fresh_app):
    upgrade_database()
    assert _schema_differences() == []
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_downgrade_to_base_and_back(fresh_app):
    upgrade_database()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade_database()
    assert _schema_differences() == []


def test_upgrade_twice_is_a_no_op(fresh_app):
    upgrade_database()
    upgrade_database()
    assert _schema_differences() == []


@pytest.mark.single_db
def test_output_is_compressed_with_lz4_on_postgresql(postgres, tmp_path, redis_server):
    # pglz, PostgreSQL's default, took twice lz4's time to store big output (issue 17).
    url = postgres.create_database("semaphore_lz4")
    app = create_app(make_config(tmp_path / "data", url, redis_server.url))
    query = text(
        "SELECT attname, attcompression FROM pg_attribute "
        "WHERE attrelid = 'task__output_chunk'::regclass AND attname IN ('output', 'times')"
    )
    with app.app_context():
        try:
            upgrade_database()
            assert sorted(db.session.execute(query).all()) == [("output", "l"), ("times", "l")]
            db.session.rollback()
            downgrade(revision="a8c0d2e4f6b7")
            assert sorted(db.session.execute(query).all()) == [("output", ""), ("times", "")]
        finally:
            db.session.remove()
            db.engine.dispose()
