"""Task timeouts on a real `semaphore runner`: the server puts the limit in the job's spec, the
runner's engine keeps the clock, and the task ends `error` with the line naming the limit."""

from __future__ import annotations

import os
import time

from semaphore.extensions import db
from semaphore.models import Template
from tests import factories
from tests.engine.conftest import STUBS
from tests.engine.test_timeouts import running, sleep_marker, sleep_script
from tests.tasks.test_remote_runners import World, finished, wait_for_line
from tests.tasks.test_task_timeouts import LIMITS


@LIMITS
def test_a_runners_task_past_its_limit_ends_error_naming_it(
    app, config, processes, tmp_path, template_limit, message
):
    world = World(processes, config, tmp_path, runner_timeout=30)
    marker = sleep_marker()
    repo = factories.git_repository(
        tmp_path / "timeout-scripts", {"sleep.sh": sleep_script(marker)}
    )
    world.repository = factories.repository(
        project=world.project, git_url=f"file://{repo}", git_branch="main"
    )
    template_id = world.template("sleep.sh", "edge")
    db.session.get(Template, template_id).max_task_duration_sec = template_limit
    db.session.commit()
    _, runner_id = world.runner("edge", "edge")
    world.admin.call("POST", f"/runners/{runner_id}/active", {"active": True})

    task_id = world.run(template_id)
    wait_for_line(world, task_id, "started")
    assert running(marker)
    seen = time.monotonic()
    while running(marker):
        assert time.monotonic() - seen < 4, "the job outlived its 2 s limit"
        time.sleep(0.05)
    done = world.wait_for(task_id, finished, 20, "finished")
    assert (done["status"], done["runner_id"]) == ("error", runner_id)
    lines = world.output(task_id)
    assert lines[-1] == message and "never" not in lines


def test_a_runners_wait_for_confirmation_counts(app, config, processes, tmp_path, monkeypatch):
    # terraform cannot be installed here: the runner finds the test-only stub first on PATH.
    monkeypatch.setenv("PATH", f"{STUBS}:{os.environ['PATH']}")
    world = World(processes, config, tmp_path, runner_timeout=30)
    infra = {"main.tf": 'resource "null_resource" "x" {}\n'}
    repo = factories.git_repository(tmp_path / "infra", infra)
    template = factories.template(
        project=world.project,
        app="terraform",
        playbook="",
        repository_id=factories.repository(
            project=world.project, git_url=f"file://{repo}", git_branch="main"
        ).id,
        inventory_id=factories.inventory(
            project=world.project, type="terraform-workspace", inventory="dev"
        ).id,
        runner_tag="edge",
        max_task_duration_sec=5,
    )
    _, runner_id = world.runner("edge", "edge")
    world.admin.call("POST", f"/runners/{runner_id}/active", {"active": True})

    task_id = world.run(template.id)
    world.wait_for(task_id, lambda t: t["status"] == "waiting_confirmation", 30, "waiting")
    done = world.wait_for(task_id, finished, 15, "finished")
    assert done["status"] == "error"
    assert world.output(task_id)[-1] == (
        "The task ran longer than the template's max_task_duration_sec (5 s) and was stopped."
    )
