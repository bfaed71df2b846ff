"""In the browser: the task history pages through 120 tasks, its filters narrow the list, a task
created elsewhere appears within 2 s, and on a phone the filters wrap and nothing scrolls
sideways; the dashboard's active list ends with "+N more". Screenshots (SEMAPHORE_SCREENSHOT_DIR)
of both, desktop and phone, light and dark.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import Task, utcnow
from semaphore.services import options, tasks
from semaphore.services.permissions import project_access
from tests import factories
from tests.browser.htmx_wait import settled
from tests.browser.test_dark_theme import LOW_CONTRAST
from tests.browser.test_project_pages import log_in
from tests.browser.test_responsive_shell import SIZES, overflow

pytestmark = pytest.mark.browser

# The acceptance's budget: a task created in another session shows within this.
LIVE_MS = 2000


def _world():
    """Olive owns Apollo: "Deploy" ran 100 times (successes, the newest still running),
    "Nightly" 20 times (failures, older); 120 tasks in all."""
    owner = factories.user(username="olive", name="Olive Owner")
    project = factories.project(name="Apollo", members={owner: "owner"})
    deploy = factories.template(project=project, name="Deploy")
    nightly = factories.template(project=project, name="Nightly")
    now = utcnow()
    made = [
        Task(
            project_id=project.id,
            template_id=(nightly if n < 20 else deploy).id,
            status="error" if n < 20 else "success",
            environment="",
            user_id=owner.id if n % 2 else None,
            created=now - timedelta(minutes=200 - n),
            start=now - timedelta(minutes=200 - n),
            end=now - timedelta(minutes=199 - n),
            message=f"run {n}",
        )
        for n in range(120)
    ]
    made[-1].status, made[-1].end = "running", None
    db.session.add_all(made)
    db.session.commit()
    return owner, project, deploy, nightly, [task.id for task in reversed(made)]


def _first_screen(page: Page, name: str) -> None:
    """The viewport alone (beside the conftest's full page, too long to read on a phone)."""
    directory = os.environ.get("SEMAPHORE_SCREENSHOT_DIR")
    if directory:
        page.screenshot(path=str(Path(directory) / f"{name}.png"), caret="initial")


def _rows(page: Page):
    return page.get_by_test_id("task-list").locator("tbody tr[data-testid^='task-row-']")


def test_history_pages_filters_and_follows_new_tasks(app, live_server, page: Page, screenshot):
    owner, project, deploy, nightly, newest_first = _world()
    page.set_viewport_size(SIZES["desktop"])
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/history")
    count = page.get_by_test_id("page-count")
    expect(count).to_have_text("1–50 of 120")
    expect(_rows(page)).to_have_count(50)
    expect(_rows(page).first).to_have_attribute("data-testid", f"task-row-{newest_first[0]}")

    settled(page)
    page.get_by_test_id("page-next").click()
    expect(count).to_have_text("51–100 of 120")
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    expect(_rows(page).first).to_have_attribute("data-testid", f"task-row-{newest_first[50]}")
    settled(page)
    page.get_by_test_id("page-previous").click()
    expect(count).to_have_text("1–50 of 120")

    settled(page)
    page.get_by_test_id("filter-per-page").select_option("20")
    expect(count).to_have_text("1–20 of 120")
    expect(_rows(page)).to_have_count(20)
    expect(page).to_have_url(re.compile(r"per_page=20"))
    settled(page)
    page.get_by_test_id("page-next").click()
    expect(count).to_have_text("21–40 of 120")
    expect(_rows(page).first).to_have_attribute("data-testid", f"task-row-{newest_first[20]}")

    # Filters: back to the first page, narrowed in the URL too.
    settled(page)
    page.get_by_test_id("filter-status").select_option("error")
    expect(count).to_have_text("1–20 of 20")
    expect(page).to_have_url(re.compile(r"status=error"))
    expect(page.locator("tbody [data-testid=task-status]:not([data-status=error])")).to_have_count(
        0
    )
    settled(page)
    page.get_by_test_id("filter-template").select_option(str(deploy.id))
    expect(count).to_have_text("0–0 of 0")
    expect(page.get_by_test_id("task-list")).to_contain_text("No tasks match these filters.")
    settled(page)
    page.get_by_test_id("filter-status").select_option("")
    expect(count).to_have_text("1–20 of 100")
    settled(page)
    page.get_by_test_id("filter-user").select_option(str(owner.id))
    expect(count).to_have_text("1–20 of 50")
    settled(page)
    page.get_by_test_id("filter-clear").click()
    expect(count).to_have_text("1–50 of 120")
    settled(page)
    page.get_by_test_id("filter-status").select_option("active")
    expect(count).to_have_text("1–1 of 1")
    # Reload: the URL holds the filter.
    page.reload()
    expect(page.get_by_test_id("filter-status")).to_have_value("active")
    expect(count).to_have_text("1–1 of 1")

    # A task started in another session shows within 2 s, in the filtered list too, and its
    # status follows.
    access = project_access(owner, project.id)
    task = tasks.create_task(access, {"template_id": nightly.id})
    row = page.get_by_test_id(f"task-row-{task.id}")
    expect(row).to_be_visible(timeout=LIVE_MS)
    expect(count).to_have_text("1–2 of 2")
    tasks.change_status(task, "running")
    db.session.commit()
    expect(row.get_by_test_id("task-status")).to_have_attribute(
        "data-status", "running", timeout=LIVE_MS
    )
    tasks.change_status(task, "success")
    db.session.commit()
    expect(row).to_have_count(0, timeout=LIVE_MS)  # no longer active
    expect(count).to_have_text("1–1 of 1")

    settled(page)
    page.get_by_test_id("filter-clear").click()
    expect(count).to_have_text("1–50 of 121")
    second = tasks.create_task(access, {"template_id": deploy.id})
    expect(_rows(page).first).to_have_attribute(
        "data-testid", f"task-row-{second.id}", timeout=LIVE_MS
    )
    expect(count).to_have_text("1–50 of 122")


def test_a_refused_filter_is_named_at_its_field(app, live_server, page: Page):
    _, project, *_ = _world()
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/history?from=notadate&page=abc")
    expect(page.get_by_test_id("error-from")).to_have_text("From must be a date (YYYY-MM-DD)")
    expect(page.get_by_test_id("error-page")).to_contain_text("Page must be a whole number")
    expect(page.get_by_test_id("page-count")).to_have_text("1–50 of 120")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_history_and_dashboard_fit_and_read(app, live_server, page: Page, screenshot, size, scheme):
    owner, project, deploy, *_ = _world()
    options.set_color_scheme(owner, scheme)
    access = project_access(owner, project.id)
    for _ in range(13):
        tasks.create_task(access, {"template_id": deploy.id})
    page.set_viewport_size(SIZES[size])
    log_in(page, live_server, "olive")
    problems = []

    page.goto(f"{live_server}/project/{project.id}/history?template={deploy.id}&per_page=20&page=2")
    expect(page.get_by_test_id("page-count")).to_have_text("21–40 of 113")
    if size == "phone":
        # The filters sit two to a row, the rows stack.
        status, template = (
            page.get_by_test_id(name).bounding_box()
            for name in ("filter-status", "filter-template")
        )
        assert status["y"] == template["y"] and status["x"] < template["x"]
        cells = page.get_by_test_id("task-list").locator("tbody tr").first.locator("td")
        assert cells.nth(0).bounding_box()["y"] < cells.nth(1).bounding_box()["y"]
    problems.append(overflow(page))
    if scheme == "dark":
        problems += page.evaluate(LOW_CONTRAST)["low"]
    screenshot(f"history-{size}-{scheme}")
    _first_screen(page, f"history-{size}-{scheme}-top")

    # The dashboard redraws its lists once its socket connects: a click on a link the redraw
    # replaces would be lost, so the test waits for it.
    with page.expect_response(re.compile(r"/dashboard/tasks$")):
        page.goto(f"{live_server}/project/{project.id}/dashboard")
    more = page.get_by_test_id("active-more")
    expect(more).to_have_text("+4 more")  # 13 waiting and the running one, 10 shown
    expect(page.get_by_test_id("active-count")).to_have_text("14")
    problems.append(overflow(page))
    if scheme == "dark":
        problems += page.evaluate(LOW_CONTRAST)["low"]
    screenshot(f"dashboard-{size}-{scheme}")
    _first_screen(page, f"dashboard-{size}-{scheme}-top")
    more.click()
    expect(page).to_have_url(re.compile(rf"/project/{project.id}/history\?status=active$"))
    expect(page.get_by_test_id("page-count")).to_have_text("1–14 of 14")
    assert [problem for problem in problems if problem] == []
