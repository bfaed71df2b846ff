"""The RQ job end to end: a real RQ worker runs real bash scripts from a real git repository."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import run_task
from semaphore.models import Event, Task
from semaphore.services import environments, tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories

SCRIPTS = {
    "hello.sh": 'echo "hello from $1"\necho "token is $DEPLOY_TOKEN"\n',
    "fail.sh": "echo about to fail\nexit 3\n",
    "slow.sh": "for i in $(seq 1 300); do echo tick $i; sleep 0.1; done\n",
}


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("scripts"), SCRIPTS, "scripts")


@pytest.fixture
def owner(app):
    return factories.user()


@pytest.fixture
def project(owner):
    return factories.project(members={owner: "owner"})


def _template(project, script_repo, script: str, **fields):
    repository = factories.repository(
        project=project, git_url=f"file://{script_repo}", git_branch="main"
    )
    return factories.template(
        project=project,
        app="bash",
        playbook=script,
        repository_id=repository.id,
        inventory_id=None,
        **fields,
    )


def _work(app) -> None:
    """Drain the task queue with a real RQ worker in this process."""
    runtime.set_app(app)
    worker = SimpleWorker([broker.queue(broker.QUEUE_TASKS)], connection=broker.connection())
    worker.work(burst=True)


def _output(task_id: int) -> list[str]:
    return [line.output for line in task_output.read_lines(task_id)]


def test_a_bash_task_runs_to_success(app, project, owner, script_repo):
    template = _template(project, script_repo, "hello.sh", arguments='["world"]')
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    _work(app)
    db.session.expire_all()
    done = db.session.get(Task, task.id)
    assert done.status == "success", _output(task.id)
    assert done.start is not None and done.end >= done.start
    assert len(done.commit_hash) == 40 and done.commit_message == "scripts"
    assert "hello from world" in _output(task.id)
    descriptions = db.session.scalars(select(Event.description).where(Event.object_id == task.id))
    assert any("is running" in d for d in descriptions)
    assert any(d.endswith("finished - SUCCESS") for d in descriptions)


def test_a_failing_script_ends_in_error_with_its_output(app, project, owner, script_repo):
    template = _template(project, script_repo, "fail.sh")
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    _work(app)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "error"
    assert "about to fail" in _output(task.id)


def test_secret_environment_values_are_masked(app, project, owner, script_repo):
    access = project_access(owner, project.id)
    environment = environments.create_environment(
        access,
        {
            "name": "prod",
            "json": "{}",
            "secrets": [
                {
                    "type": "env",
                    "name": "DEPLOY_TOKEN",
                    "secret": "s3cr3t-t0ken",
                    "operation": "create",
                }
            ],
        },
    )
    template = _template(project, script_repo, "hello.sh", environment_id=environment.id)
    task = tasks.create_task(access, {"template_id": template.id})
    _work(app)
    lines = _output(task.id)
    assert "token is ********" in lines
    assert not any("s3cr3t-t0ken" in line for line in lines)


def test_a_running_task_is_stopped(app, project, owner, script_repo):
    template = _template(project, script_repo, "slow.sh")
    access = project_access(owner, project.id)
    task = tasks.create_task(access, {"template_id": template.id})
    runtime.set_app(app)
    # The job as a worker runs it, in a thread so that this test can stop it meanwhile.
    worker = threading.Thread(target=run_task, args=(task.id,))
    worker.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "tick 3" not in _output(task.id):
        time.sleep(0.1)
        db.session.expire_all()
    assert db.session.get(Task, task.id).status == "running"
    began = time.monotonic()
    tasks.stop_task(access, task.id, {})
    worker.join(timeout=30)
    db.session.expire_all()
    stopped = db.session.get(Task, task.id)
    assert stopped.status == "stopped"
    assert time.monotonic() - began < 10
    assert "tick 300" not in _output(task.id)
