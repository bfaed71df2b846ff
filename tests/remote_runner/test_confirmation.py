"""A terraform plan run by the runner waits for the server's confirmation: applied once
confirmed, never applied once rejected.

terraform cannot be installed here: the test-only stub is first on the runner's PATH.
"""

from __future__ import annotations

import pytest

from semaphore.services import tasks
from semaphore.services.permissions import project_access
from tests import factories
from tests.remote_runner.conftest import STUBS, assign, output_of, status_of, wait_for

pytestmark = pytest.mark.single_db


@pytest.fixture
def terraform(tmp_path):
    """A member, a terraform template and its access."""
    repo = factories.git_repository(
        tmp_path / "infra", {"main.tf": 'resource "null_resource" "x" {}\n'}, "infra"
    )
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    repository = factories.repository(project=project, git_url=f"file://{repo}", git_branch="main")
    inventory = factories.inventory(project=project, type="terraform-workspace", inventory="dev")
    template = factories.template(
        project=project,
        app="terraform",
        playbook="",
        repository_id=repository.id,
        inventory_id=inventory.id,
    )
    return template, project_access(owner, project.id)


@pytest.fixture
def running_plan(runner_cli, terraform):
    """A terraform task the runner has planned, waiting for confirmation."""
    template, access = terraform
    task = assign(runner_cli.register(), template)
    runner_cli.start(PATH=f"{STUBS}:/usr/bin:/bin")
    wait_for(lambda: status_of(task.id) == "waiting_confirmation", 60, runner_cli.log())
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in output_of(task.id)
    return task, access


def test_a_confirmed_plan_is_applied(runner_cli, running_plan):
    task, access = running_plan
    tasks.confirm_task(access, task.id)
    wait_for(lambda: status_of(task.id) == "success", 30, runner_cli.log())
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in output_of(task.id)


def test_a_rejected_plan_is_never_applied(runner_cli, running_plan):
    task, access = running_plan
    tasks.reject_task(access, task.id)
    wait_for(lambda: f"job {task.id} finished" in runner_cli.log(), 30, runner_cli.log())
    assert status_of(task.id) == "rejected"
    assert not any(line.startswith("Apply complete!") for line in output_of(task.id))
