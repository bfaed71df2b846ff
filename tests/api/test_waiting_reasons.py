"""Why a task waits, beyond the limits and the runners (issue 21): Redis unreachable (the
workers and the claims need it), and a plan waiting for its confirmation."""

from __future__ import annotations

import pytest

from semaphore.queue.dispatch import AWAITING_CONFIRMATION, REDIS_DOWN
from tests import factories
from tests.processes import free_port


def _reason(app, owner, task) -> str | None:
    api = factories.api_client(app, owner)
    answer = api.get(f"/api/project/{task.project_id}/tasks/{task.id}")
    assert answer.status_code == 200
    return answer.get_json()["waiting_reason"]


@pytest.mark.parametrize("config_overrides", [{"redis_url": f"redis://127.0.0.1:{free_port()}/0"}])
def test_a_task_that_could_start_says_so_when_redis_does_not_answer(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = factories.template(project=project)
    free = factories.task(of=template, status="waiting")
    assert _reason(app, owner, free) == REDIS_DOWN
    # A limit is the reason when there is one: Redis is not why that task waits.
    busy = factories.template(project=project)
    factories.task(of=busy, status="running")
    blocked = factories.task(of=busy, status="waiting")
    assert _reason(app, owner, blocked) == "another task of this template is running"
    admin = factories.user(admin=True)
    queue = factories.api_client(app, admin).get("/api/tasks").get_json()
    assert {row["task_id"]: row["waiting_reason"] for row in queue}[free.id] == REDIS_DOWN


def test_with_redis_up_a_free_task_has_no_reason_and_a_plan_awaits_its_confirmation(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    free = factories.task(of=factories.template(project=project), status="waiting")
    plan = factories.task(of=factories.template(project=project), status="waiting_confirmation")
    assert _reason(app, owner, free) is None
    assert _reason(app, owner, plan) == AWAITING_CONFIRMATION
