"""In the browser: the admins' runners page and a project's, on a desktop and on a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import Runner, Task, utcnow
from semaphore.security.tokens import digest
from tests import factories
from tests.browser.test_project_pages import log_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def _runner(name: str, project_id: int | None = None, **fields) -> Runner:
    fields.setdefault("token_hash", digest(f"token-{name}"))
    row = Runner(name=name, project_id=project_id, **fields)
    db.session.add(row)
    db.session.commit()
    return row


def _seed() -> tuple[int, int]:
    """Global and project runners in every state, a task running on one and a task no
    runner can take; returns (project id, the waiting task's id)."""
    admin = factories.user(username="root", name="Root Admin", admin=True)
    project = factories.project(name="Apollo", members={admin: "owner"})
    now = utcnow()
    edge = _runner("edge-01", active=True, touched=now, tags=["linux", "dmz"], max_parallel_tasks=4)
    _runner("arm-builder", active=True, touched=now - timedelta(minutes=7), tags=["arm64"])
    _runner("spare", active=False, max_parallel_tasks=1)
    _runner("not-yet", token_hash=None, tags=["gpu"])
    _runner("apollo-box", project.id, active=True, touched=now, tags=["apollo"])
    _runner("apollo-old", project.id, active=False, touched=now - timedelta(days=3))
    template = factories.template(project=project, name="Deploy", runner_tag="dmz")
    build = factories.template(project=project, name="Build", runner_tag="arm64")
    db.session.add(
        Task(project_id=project.id, template_id=template.id, status="running", runner_id=edge.id)
    )
    waiting = Task(project_id=project.id, template_id=build.id, status="waiting")
    db.session.add(waiting)
    db.session.commit()
    return project.id, waiting.id


def _fits_the_width(page: Page) -> None:
    # A page's own stylesheet sits in its body; after an hx-boost swap it loads a moment
    # after the content shows, and until then a long command is laid out unstyled.
    # A function: Playwright polls an expression string with eval, which the CSP forbids.
    page.wait_for_function(
        "() => [...document.querySelectorAll('link[rel=stylesheet]')].every(link => link.sheet)"
    )
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("size", SIZES)
def test_runner_pages_at_each_size(app, live_server, page, screenshot, size):
    project_id, waiting_id = _seed()
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server, "root")

    page.goto(f"{live_server}/runners")
    expect(page.get_by_test_id("runner-row-edge-01").get_by_test_id("runner-state")).to_have_text(
        "online"
    )
    expect(
        page.get_by_test_id("runner-row-arm-builder").get_by_test_id("runner-state")
    ).to_have_text("offline")
    _fits_the_width(page)
    screenshot(f"runners-admin-{size}")

    page.goto(f"{live_server}/project/{project_id}/runners")
    expect(page.get_by_test_id("nav-runners")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("global-runners-table")).to_contain_text("edge-01")
    _fits_the_width(page)
    screenshot(f"runners-project-{size}")

    page.get_by_test_id("new-runner").click()
    _fits_the_width(page)
    screenshot(f"runners-new-{size}")
    page.get_by_test_id("field-name").fill("apollo-2")
    page.get_by_test_id("field-tags").fill("apollo, linux")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("runner-token")).to_be_visible()
    _fits_the_width(page)
    screenshot(f"runners-token-{size}")

    page.goto(f"{live_server}/project/{project_id}/tasks/{waiting_id}")
    expect(page.get_by_test_id("task-waiting-reason")).to_have_text(
        "Waits: no active runner with tag `arm64`"
    )
    _fits_the_width(page)
    screenshot(f"runners-waiting-task-{size}")
    page.goto(f"{live_server}/project/{project_id}/history")
    expect(page.get_by_test_id(f"task-waiting-reason-{waiting_id}")).to_be_visible()
    _fits_the_width(page)
    screenshot(f"runners-history-{size}")


def test_the_switch_and_delete_work_in_the_browser(app, live_server, page):
    _seed()
    log_in(page, live_server, "root")
    page.goto(f"{live_server}/runners")
    row = page.get_by_test_id("runner-row-spare")
    switch = row.get_by_test_id("toggle-runner-spare")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    expect(page.get_by_test_id("toggle-runner-spare")).to_have_attribute("aria-checked", "true")
    expect(page).to_have_url(f"{live_server}/runners")
    db.session.expire_all()
    assert db.session.scalars(db.select(Runner.active).filter_by(name="spare")).one() is True

    page.get_by_test_id("delete-runner-spare").click()
    page.get_by_test_id("confirm-ok").click()  # the styled confirm dialog
    expect(page.get_by_test_id("flash")).to_contain_text("Runner spare removed")
    expect(page.get_by_test_id("runner-row-spare")).to_have_count(0)

    page.get_by_test_id("new-runner").click()
    page.get_by_test_id("field-name").fill("fresh")
    page.get_by_test_id("save").click()
    token = page.get_by_test_id("runner-token").input_value()
    # The address is the list's: a reload shows the list, not the token.
    expect(page).to_have_url(f"{live_server}/runners")
    page.reload()
    expect(page.get_by_test_id("runner-row-fresh")).to_be_visible()
    assert token not in page.content()
