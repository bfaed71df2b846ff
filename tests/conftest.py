"""Fixtures: real PostgreSQL, SQLite and Redis; an app per test on a clean database.

Every test that uses `app` (or anything built on it) runs once per database backend:
SQLite and PostgreSQL (SEMAPHORE_TEST_BACKENDS narrows this while developing; `make test` and
CI always run both). Tests marked `single_db` run on SQLite only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from semaphore import create_app
from semaphore.config import Config
from tests import factories
from tests.contract import ContractClient
from tests.processes import Processes
from tests.services import Postgres, RedisServer

ALL_BACKENDS = ("sqlite", "postgres")
TEST_SECRET = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # 32 bytes, base64


def _backends() -> tuple[str, ...]:
    chosen = os.environ.get("SEMAPHORE_TEST_BACKENDS")
    if not chosen:
        return ALL_BACKENDS
    backends = tuple(b.strip() for b in chosen.split(",") if b.strip())
    unknown = set(backends) - set(ALL_BACKENDS)
    if unknown:
        raise pytest.UsageError(f"unknown SEMAPHORE_TEST_BACKENDS: {sorted(unknown)}")
    return backends


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = _backends()
        if metafunc.definition.get_closest_marker("single_db"):
            backends = backends[:1]
        metafunc.parametrize("backend", backends, scope="session")


# --- real servers, one set per xdist worker --------------------------------------------------


@pytest.fixture(scope="session")
def services_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def postgres(services_root: Path) -> Iterator[Postgres]:
    server = Postgres(Path("/tmp") / f"semaphore-pg-{os.getpid()}").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(services_root: Path) -> Iterator[RedisServer]:
    server = RedisServer(services_root / "redis").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_databases(request: pytest.FixtureRequest, services_root: Path) -> dict[str, str]:
    """backend -> URL of a database migrated to head (created on first use)."""
    return {}


def _database_url(backend: str, request: pytest.FixtureRequest, services_root: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{services_root / 'semaphore-test.db'}"
    postgres: Postgres = request.getfixturevalue("postgres")
    return postgres.create_database("semaphore_test")


@pytest.fixture
def database_url(
    backend: str,
    migrated_databases: dict[str, str],
    request: pytest.FixtureRequest,
    services_root: Path,
    redis_server: RedisServer,
) -> str:
    if backend not in migrated_databases:
        url = _database_url(backend, request, services_root)
        config = make_config(services_root / "migrate", url, redis_server.url)
        app = create_app(config)
        with app.app_context():
            from semaphore.database import upgrade_database
            from semaphore.extensions import db

            upgrade_database()
            db.engine.dispose()
        migrated_databases[backend] = url
    return migrated_databases[backend]


def make_config(data_dir: Path, database_url: str, redis_url: str, **overrides) -> Config:
    """A Config for tests: fixed secrets, a cheap bcrypt cost, everything under data_dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "data_dir": str(data_dir),
        "database_url": database_url,
        "redis_url": redis_url,
        "tmp_path": str(data_dir / "tmp"),
        "cookie_hash": TEST_SECRET,
        "cookie_encryption": TEST_SECRET,
        "access_key_encryption": TEST_SECRET,
        "bcrypt_cost": 4,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Config(**values)


_cleaning_engines: dict[str, object] = {}


def _clean_database(url: str) -> None:
    """Empty every table. DELETE with foreign-key checks off: far cheaper than TRUNCATE here."""
    from semaphore.models import Base

    engine = _cleaning_engines.get(url)
    if engine is None:
        engine = _cleaning_engines[url] = create_engine(url, poolclass=NullPool)
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if url.startswith("postgresql"):
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
        for name in tables:
            conn.execute(text(f'DELETE FROM "{name}"'))


# --- the app and its clients ------------------------------------------------------------------


@pytest.fixture
def config_overrides() -> dict:
    """Override in a test module (or parametrize) to change the Config of `app`."""
    return {}


@pytest.fixture
def config(
    tmp_path: Path, database_url: str, redis_server: RedisServer, config_overrides: dict
) -> Config:
    overrides = {"redis_url": redis_server.url, **config_overrides}
    return make_config(tmp_path / "data", database_url, **overrides)


@pytest.fixture
def app(config: Config, redis_server: RedisServer):
    _clean_database(config.database_url)
    redis_server.client().flushdb()
    app = create_app(config)
    app.config["TESTING"] = True
    with app.app_context():
        yield app
        from semaphore.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client) -> ContractClient:
    """Anonymous API client; every response is checked against the contract."""
    return ContractClient(client)


@pytest.fixture
def admin(app):
    return factories.user(admin=True, username="admin", name="Admin", email="admin@example.com")


@pytest.fixture
def admin_api(app, admin) -> ContractClient:
    return factories.api_client(app, admin)


@pytest.fixture
def user_api(app):
    """An API client authenticated as a plain (non-admin) user; the user is `.user`."""
    user = factories.user()
    api = factories.api_client(app, user)
    api.user = user
    return api


@pytest.fixture
def processes(config: Config, tmp_path: Path) -> Iterator[Processes]:
    """Real `semaphore worker` / `semaphore server` processes, stopped when the test ends."""
    started = Processes(config, tmp_path)
    yield started
    started.stop()
