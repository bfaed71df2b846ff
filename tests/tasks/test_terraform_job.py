"""A terraform task through the job: plan, wait for confirmation, confirm over the API, apply.

terraform cannot be installed here: the test-only stub on PATH records each call's argv.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import run_task
from semaphore.models import Task
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from tests import factories

STUBS = Path(__file__).parent.parent / "engine" / "stubs"


@pytest.fixture
def terraform_repo(tmp_path) -> Path:
    files = {"main.tf": 'resource "null_resource" "x" {}\n'}
    return factories.git_repository(tmp_path / "infra", files, "infra")


@pytest.fixture
def config_overrides(tmp_path) -> dict:
    # The config's env_vars reach the tools' environment; the stub logs its calls there, in a
    # directory shown to the sandboxed tools read-write.
    (tmp_path / "stub-log").mkdir()
    return {
        "env_vars": {"STUB_LOG": str(tmp_path / "stub-log" / "stub-calls.jsonl")},
        "task_sandbox_paths": (f"{tmp_path / 'stub-log'}:rw",),
    }


@pytest.fixture
def stub_log(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PATH", f"{STUBS}:/usr/bin:/bin")
    return tmp_path / "stub-log" / "stub-calls.jsonl"


def _terraform_template(project, terraform_repo: Path, workspace: str):
    """A terraform template of the repository, running in the given workspace."""
    repository = factories.repository(
        project=project, git_url=f"file://{terraform_repo}", git_branch="main"
    )
    inventory = factories.inventory(
        project=project, type="terraform-workspace", inventory=workspace
    )
    return factories.template(
        project=project,
        app="terraform",
        playbook="",
        repository_id=repository.id,
        inventory_id=inventory.id,
    )


def _status(task_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Task, task_id).status


def _wait_for(task_id: int, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _status(task_id) == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"task is {_status(task_id)}, not {status}")


def test_plan_waits_for_confirmation_then_applies(app, terraform_repo, stub_log):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = _terraform_template(project, terraform_repo, "prod")
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    runtime.set_app(app)
    job = threading.Thread(target=run_task, args=(task.id,))
    job.start()
    _wait_for(task.id, "waiting_confirmation")
    calls = [json.loads(line)["argv"][0] for line in stub_log.read_text().splitlines()]
    assert "apply" not in calls
    client = factories.api_client(app, owner)
    response = client.post(f"/api/project/{project.id}/tasks/{task.id}/confirm")
    assert response.status_code == 204
    job.join(timeout=30)
    assert _status(task.id) == "success"
    argvs = [json.loads(line)["argv"] for line in stub_log.read_text().splitlines()]
    assert [argv[0] for argv in argvs if argv[0] != "workspace"] == ["init", "plan", "apply"]
    assert any(argv[:2] == ["workspace", "select"] for argv in argvs)


def test_a_plan_waiting_for_confirmation_is_rejected_by_a_forced_stop(
    app, terraform_repo, stub_log
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = _terraform_template(project, terraform_repo, "dev")
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    runtime.set_app(app)
    job = threading.Thread(target=run_task, args=(task.id,))
    job.start()
    _wait_for(task.id, "waiting_confirmation")
    client = factories.api_client(app, owner)
    stop = client.post(f"/api/project/{project.id}/tasks/{task.id}/stop", json={"force": True})
    assert stop.status_code == 204
    job.join(timeout=30)
    assert _status(task.id) == "stopped"
    calls = [json.loads(line)["argv"][0] for line in stub_log.read_text().splitlines()]
    assert "apply" not in calls


def test_a_rejected_plan_ends_rejected_and_is_never_applied(app, terraform_repo, stub_log):
    owner = factories.user()
    runner = factories.user()
    project = factories.project(members={owner: "owner", runner: "task_runner"})
    template = _terraform_template(project, terraform_repo, "dev")
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    client = factories.api_client(app, runner)
    path = f"/api/project/{project.id}/tasks/{task.id}/reject"
    # Only a task waiting for confirmation can be rejected.
    refused = client.post(path)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "Task is not waiting for confirmation"
    runtime.set_app(app)
    job = threading.Thread(target=run_task, args=(task.id,))
    job.start()
    _wait_for(task.id, "waiting_confirmation")
    assert client.post(path).status_code == 204
    job.join(timeout=30)
    assert not job.is_alive()
    db.session.expire_all()
    done = db.session.get(Task, task.id)
    assert done.status == "rejected" and done.end is not None
    calls = [json.loads(line)["argv"][0] for line in stub_log.read_text().splitlines()]
    assert "apply" not in calls
    assert client.post(path).status_code == 400  # final: no second answer
