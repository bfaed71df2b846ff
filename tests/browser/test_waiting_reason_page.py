"""In the browser: a waiting task's page keeps its reason current while it waits (issue 21).
Another task of the template runs, so this one says so; once that one ends, the reason goes
away without a reload (no worker runs here, so the task stays waiting, with nothing blocking)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from semaphore.extensions import db
from tests import factories
from tests.browser.test_task_pages import log_in

pytestmark = pytest.mark.browser


def test_the_reason_on_a_waiting_tasks_page_follows_the_queue(app, live_server, page, screenshot):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = factories.template(project=project, name="Deploy")
    other = factories.task(of=template, status="running")
    waiting = factories.task(of=template, status="waiting", user_id=owner.id)
    log_in(page, live_server, owner.username)
    page.goto(f"{live_server}/project/{project.id}/tasks/{waiting.id}")
    reason = page.get_by_test_id("task-waiting-reason")
    expect(reason).to_have_text("Waits: another task of this template is running")
    screenshot("waiting-reason")

    other.status = "success"
    db.session.commit()
    expect(reason).to_have_count(0, timeout=10_000)
    expect(page.get_by_test_id("task-status")).to_have_attribute("data-status", "waiting")
