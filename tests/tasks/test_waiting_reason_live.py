"""Why a waiting task waits (issue 21): with max_parallel_tasks=1 and two tasks posted, a real
worker runs the first and the second says "the global limit (max_parallel_tasks=1) is
reached" in the API, on its page and on the admins' queue page; once the first ends and the
second starts, the reason is gone from all three."""

from __future__ import annotations

import pytest

from semaphore.extensions import db
from semaphore.models import Task
from tests import factories
from tests.tasks.test_workers import _wait_for
from tests.web.helpers import Browser

REASON = "the global limit (max_parallel_tasks=1) is reached"


def _status(task_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Task, task_id).status


@pytest.mark.parametrize("config_overrides", [{"max_parallel_tasks": 1}])
def test_the_second_task_says_it_waits_for_the_global_limit_until_it_starts(
    app, processes, tmp_path
):
    repo = factories.git_repository(tmp_path / "r", {"wait.sh": "sleep 30\n", "hi.sh": "echo hi\n"})
    owner = factories.user()
    admin = factories.user(admin=True)
    project = factories.project(members={owner: "owner"})
    slow = factories.script_template(project, repo, "wait.sh", name="Slow")
    quick = factories.script_template(project, repo, "hi.sh", name="Quick")
    api = factories.api_client(app, owner)
    base = f"/api/project/{project.id}/tasks"
    processes.worker(SEMAPHORE_MAX_PARALLEL_TASKS="1")
    first = api.post(base, json={"template_id": slow.id}).get_json()["id"]
    _wait_for(lambda: _status(first) == "running", 60)
    second = api.post(base, json={"template_id": quick.id}).get_json()["id"]

    assert api.get(f"{base}/{second}").get_json()["waiting_reason"] == REASON
    queue = factories.api_client(app, admin).get("/api/tasks").get_json()
    assert {row["task_id"]: row["waiting_reason"] for row in queue} == {
        first: None,
        second: REASON,
    }
    member_page, admin_page = Browser(app), Browser(app)
    member_page.log_in(owner)
    admin_page.log_in(admin)
    task_page = f"/project/{project.id}/tasks/{second}"
    assert REASON in member_page.get(task_page).get_data(as_text=True)
    assert REASON in admin_page.get("/tasks").get_data(as_text=True)

    # The first ends (stopped), the worker takes the second: no reason anywhere.
    assert api.post(f"{base}/{first}/stop", json={}).status_code == 204
    _wait_for(lambda: _status(second) == "success", 60)
    assert api.get(f"{base}/{second}").get_json()["waiting_reason"] is None
    assert REASON not in member_page.get(task_page).get_data(as_text=True)
    assert REASON not in admin_page.get("/tasks").get_data(as_text=True)
