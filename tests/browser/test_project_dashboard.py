"""In the browser: a project's dashboard follows its tasks live over the WebSocket, and shows
the last 30 days' runs as a chart."""

from __future__ import annotations

import random
import re
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import Task, utcnow
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from tests import factories

pytestmark = pytest.mark.browser


def log_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("field-auth").fill(username)
    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()


def _leave(page: Page, threads_before: set[threading.Thread]) -> None:
    """Close the page's socket and wait for the server's socket thread to end, so that the
    next test does not start while it still reads the database."""
    page.goto("about:blank")
    for thread in set(threading.enumerate()) - threads_before:
        if thread.name != "live-hub":
            thread.join(timeout=5)


def test_the_dashboard_shows_a_task_start_and_finish_without_a_reload(
    app, live_server, page, screenshot
):
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    project = factories.project(name="Apollo", members={owner: "owner"})
    template = factories.template(project=project, name="Deploy web")
    threads_before = set(threading.enumerate())
    log_in(page, live_server, "olive")
    sockets, errors = [], []
    page.on("websocket", lambda ws: sockets.append(ws))
    page.on("pageerror", lambda error: errors.append(error))

    page.get_by_test_id(f"sidebar-project-{project.id}").click()
    dashboard = page.get_by_test_id("project-dashboard")
    expect(page.get_by_test_id("nav-dashboard")).to_have_attribute("aria-current", "page")
    expect(dashboard).to_have_attribute("data-live", "connected")
    expect(page.get_by_test_id("chart-empty")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    active_row = page.get_by_test_id(f"active-task-{task.id}")
    expect(active_row).to_contain_text("Deploy web")
    expect(active_row).to_contain_text("Olive Owner")
    expect(active_row.get_by_test_id("task-status")).to_have_attribute("data-status", "waiting")
    expect(page.get_by_test_id("active-count")).to_have_text("1")
    expect(page.get_by_test_id("stat-runs")).to_have_text("1")
    expect(page.get_by_test_id("chart-empty")).to_have_count(0)

    tasks.change_status(task, "running")
    db.session.commit()
    expect(active_row.get_by_test_id("task-status")).to_have_attribute("data-status", "running")
    screenshot("dashboard-running")

    tasks.change_status(task, "success")
    db.session.commit()
    recent_row = page.get_by_test_id(f"recent-task-{task.id}")
    expect(recent_row.get_by_test_id("task-status")).to_have_attribute("data-status", "success")
    expect(active_row).to_have_count(0)
    expect(page.get_by_test_id("active-count")).to_have_text("0")
    expect(page.get_by_test_id("stat-success-rate")).to_have_text("100%")
    today = utcnow().date().isoformat()
    expect(page.get_by_test_id(f"chart-day-{today}")).to_have_attribute("data-total", "1")
    assert page.evaluate("window.stillTheSamePage") is True

    # Leaving the page (a boosted navigation) closes its socket.
    recent_row.get_by_test_id(f"recent-task-link-{task.id}").click()
    expect(page).to_have_url(f"{live_server}/project/{project.id}/tasks/{task.id}")
    mine = [ws for ws in sockets if f"project_id={project.id}&logs=0" in ws.url]
    assert len(mine) == 1
    for _ in range(50):
        if mine[0].is_closed():
            break
        page.wait_for_timeout(100)
    assert mine[0].is_closed()
    assert errors == []
    _leave(page, threads_before)


def _seed_a_month(project, owner, runner) -> None:
    """About 90 runs over the last 30 days, mostly successful, and two still going."""
    names = ["Deploy web", "Backup database", "Terraform plan", "Rotate certificates"]
    templates = [factories.template(project=project, name=name) for name in names]
    chooser = random.Random(30)
    now = utcnow()
    for days_ago in range(29, -1, -1):
        if days_ago in (24, 23, 12):  # quiet days
            continue
        for _ in range(chooser.randint(1, 6)):
            day = datetime.combine(now.date() - timedelta(days=days_ago), time.min, tzinfo=UTC)
            created = min(day + timedelta(minutes=chooser.randint(0, 1439)), now)
            status = chooser.choices(["success", "error", "stopped"], weights=[78, 15, 7])[0]
            length = timedelta(seconds=chooser.randint(20, 900))
            db.session.add(
                Task(
                    project_id=project.id,
                    template_id=chooser.choice(templates).id,
                    status=status,
                    created=created,
                    start=created + timedelta(seconds=3),
                    end=created + length,
                    user_id=chooser.choice([owner.id, runner.id, None]),
                    environment="",
                    message=chooser.choice(["", "", "nightly", "release 2.4"]),
                )
            )
    for status, minutes in (("running", 4), ("waiting", 1)):
        db.session.add(
            Task(
                project_id=project.id,
                template_id=templates[0].id,
                status=status,
                created=now - timedelta(minutes=minutes),
                start=now - timedelta(minutes=minutes) if status == "running" else None,
                user_id=runner.id,
                environment="",
            )
        )
    db.session.commit()


def test_the_dashboard_charts_a_month_of_runs(app, live_server, page, screenshot):
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    runner = factories.user(username="sam", name="Sam Runner", email="sam@example.com")
    project = factories.project(name="Apollo", members={owner: "owner", runner: "task_runner"})
    _seed_a_month(project, owner, runner)
    threads_before = set(threading.enumerate())
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server, "olive")

    page.goto(f"{live_server}/project/{project.id}")
    expect(page.get_by_test_id("project-dashboard")).to_have_attribute("data-live", "connected")
    expect(page.get_by_test_id("active-count")).to_have_text("2")
    expect(page.get_by_test_id("recent-tasks").locator("tbody tr")).to_have_count(10)
    quiet = (utcnow() - timedelta(days=12)).date().isoformat()
    expect(page.get_by_test_id(f"chart-day-{quiet}")).to_have_attribute("data-total", "0")
    expect(page.get_by_test_id(f"chart-day-{quiet}").locator("title")).to_have_text(
        f"{quiet}: no runs"
    )
    screenshot("dashboard-month")
    _leave(page, threads_before)


def test_the_dashboard_reconnects_and_catches_up_on_what_it_missed(app, live_server, page):
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    project = factories.project(name="Apollo", members={owner: "owner"})
    template = factories.template(project=project, name="Deploy web")
    threads_before = set(threading.enumerate())
    routes = []

    def relay(route):
        server = route.connect_to_server()
        if not routes:
            # The first socket hears nothing from the server: its updates are lost.
            server.on_message(lambda message: None)
        routes.append(route)

    page.route_web_socket(re.compile(r"/api/ws\?"), relay)
    log_in(page, live_server, "olive")
    # Once connected, the page catches up on what changed since it was rendered.
    with page.expect_response(lambda response: "/dashboard/tasks" in response.url):
        page.goto(f"{live_server}/project/{project.id}/dashboard")
    expect(page.get_by_test_id("project-dashboard")).to_have_attribute("data-live", "connected")
    page.evaluate("window.stillTheSamePage = true")

    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    page.wait_for_timeout(1000)
    expect(page.get_by_test_id(f"active-task-{task.id}")).to_have_count(0)
    routes[0].close()
    expect(page.get_by_test_id(f"active-task-{task.id}")).to_be_visible()
    assert len(routes) == 2
    assert page.evaluate("window.stillTheSamePage") is True
    _leave(page, threads_before)
