"""In the browser: a task's page follows the task over the WebSocket (lines, colours, status,
without a reload), stops following when the reader scrolls up, loads earlier lines of a big
log in place, and finds lines with its search box.

A real `semaphore worker` process runs the bash task, so the worker shares the SQLite file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import Task, utcnow
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.browser.test_task_pages import _bash_template, log_in

pytestmark = [pytest.mark.browser, pytest.mark.single_db]

LIVE_SCRIPT = r"""
for i in $(seq 1 40); do
  case $i in
    4) printf '\033[31mred alert\033[0m\n' ;;
    6) echo '<script>window.__pwned = 1</script>' ;;
    8) printf '\033[32mok\033[0m: [\033[33mweb1\033[0m] \033[1mchanged=0\033[0m\n' ;;
    *) echo "step $i of 40" ;;
  esac
  sleep 0.1
done
"""


@pytest.fixture(scope="module")
def live_repo(tmp_path_factory) -> Path:
    return factories.git_repository(
        tmp_path_factory.mktemp("live"), {"live.sh": LIVE_SCRIPT}, "Add the live script"
    )


@pytest.fixture
def owner(app):
    return factories.user(username="olive", name="Olive Owner", email="olive@example.com")


@pytest.fixture
def project(owner):
    return factories.project(name="Apollo", members={owner: "owner"})


def _stored_task(project, status: str, count: int, text=lambda n: f"line {n}") -> Task:
    template = factories.template(project=project, name=f"Stored {status}")
    now = utcnow()
    task = Task(
        project_id=project.id,
        template_id=template.id,
        status=status,
        start=now - timedelta(minutes=3),
        end=now if status == "success" else None,
    )
    db.session.add(task)
    db.session.commit()
    _store(task, [text(n) for n in range(1, count + 1)])
    return task


def _store(task: Task, texts: list[str]) -> None:
    """Store lines as the job does: followers hear of them once committed."""
    first = task_output.last_seq(task.id) + 1
    task_output.store_lines(task.id, first, [(utcnow(), text) for text in texts], task.project_id)
    db.session.commit()


def _at_end(page: Page) -> bool:
    return page.get_by_test_id("task-output").evaluate(
        "pane => pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40"
    )


def _snapshot(page: Page) -> dict:
    """The number of lines and the badge's status, read at the same moment."""
    return page.evaluate(
        """() => ({
            lines: document.querySelectorAll('[data-testid=task-output] .log-line').length,
            status: document.querySelector('[data-testid=task-status]').dataset.status,
        })"""
    )


def test_the_page_follows_a_running_task_to_its_end(
    app, live_server, page, screenshot, processes, live_repo, owner, project
):
    template = _bash_template(project, live_repo, "Live", "live.sh")
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/tasks/{task.id}")
    status = page.get_by_test_id("task-status")
    expect(status).to_have_attribute("data-status", "waiting")
    page.evaluate("window.__loaded_once = 'yes'")

    processes.worker()
    page.wait_for_function(
        """() => document.querySelector('[data-testid=task-status]').dataset.status === 'running'
                 && document.querySelectorAll('.log-line').length >= 1""",
        timeout=60_000,
    )
    first = _snapshot(page)
    # A function: Playwright polls an expression string with eval, which the CSP forbids.
    page.wait_for_function(
        "(least) => document.querySelectorAll('.log-line').length >= least",
        arg=first["lines"] + 5,
        timeout=10_000,
    )
    second = _snapshot(page)
    assert first["status"] == second["status"] == "running"
    assert second["lines"] > first["lines"]
    expect(page.get_by_test_id("task-stop")).to_be_visible()
    screenshot("task-live-running")

    expect(status).to_have_attribute("data-status", "success", timeout=30_000)
    output = page.get_by_test_id("task-output")
    expect(output).to_contain_text("step 40 of 40")
    # Every line once, in order (the engine's own lines come before the script's).
    seqs = output.locator(".log-line").evaluate_all("rows => rows.map(r => +r.dataset.seq)")
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 40
    expect(page.get_by_test_id("task-rerun")).to_be_visible()
    expect(page.get_by_test_id("task-stop")).to_have_count(0)
    # No reload: the marker set on the first load is still there.
    assert page.evaluate("window.__loaded_once") == "yes"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    # Colours are spans with classes, readable on the dark pane.
    red = output.locator(".log-line", has_text="red alert").locator(".ansi31")
    rgb = red.evaluate("el => getComputedStyle(el).color")
    r, g, b = (int(part) for part in rgb.removeprefix("rgb(").rstrip(")").split(","))
    assert r > 200 and g < 150 and b < 150, rgb
    # A line that looks like markup is shown as text and never runs.
    expect(output).to_contain_text("<script>window.__pwned = 1</script>")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # The duration stopped ticking at the end.
    duration = page.get_by_test_id("task-duration").text_content()
    page.wait_for_timeout(1500)
    assert page.get_by_test_id("task-duration").text_content() == duration
    assert _at_end(page)
    screenshot("task-live-finished")
    output.evaluate("pane => { pane.scrollTop = 0; }")
    screenshot("task-live-finished-top")


def test_scrolling_up_stops_following_and_the_button_resumes(
    app, live_server, page, screenshot, owner, project
):
    task = _stored_task(project, "running", 300)
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/tasks/{task.id}")
    output = page.get_by_test_id("task-output")
    expect(output.locator("#L300")).to_be_attached()
    assert _at_end(page)
    follow = page.get_by_test_id("log-follow")
    expect(follow).to_be_hidden()

    _store(task, [f"more {n}" for n in range(1, 51)])
    expect(output.locator("#L350")).to_be_attached()
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-log-pane]');"
        " return p.scrollHeight - p.scrollTop - p.clientHeight < 40; }"
    )

    output.hover()
    page.mouse.wheel(0, -3000)
    expect(follow).to_be_visible()
    page.wait_for_timeout(500)  # the wheel's scroll may be animated
    top = output.evaluate("pane => pane.scrollTop")
    _store(task, [f"while away {n}" for n in range(1, 51)])
    expect(output.locator("#L400")).to_be_attached()
    page.wait_for_timeout(300)
    assert output.evaluate("pane => pane.scrollTop") == top
    assert not _at_end(page)
    screenshot("task-live-paused")

    follow.click()
    expect(follow).to_be_hidden()
    assert _at_end(page)
    _store(task, ["back again"])
    expect(output.locator("#L401")).to_be_attached()
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-log-pane]');"
        " return p.scrollHeight - p.scrollTop - p.clientHeight < 40; }"
    )

    # The final status arrives over the socket too.
    tasks.change_status(db.session.get(Task, task.id), "success")
    db.session.commit()
    expect(page.get_by_test_id("task-status")).to_have_attribute("data-status", "success")
    expect(page.get_by_test_id("task-rerun")).to_be_visible()


def test_a_dropped_socket_reconnects_from_the_last_line(app, live_server, page, owner, project):
    task = _stored_task(project, "running", 10)
    log_in(page, live_server, "olive")
    with page.expect_websocket() as first:
        page.goto(f"{live_server}/project/{project.id}/tasks/{task.id}")
    assert first.value.url.endswith(f"/api/ws?task_id={task.id}&html=1&after=10")
    output = page.get_by_test_id("task-output")
    _store(task, ["before the drop"])
    expect(output.locator("#L11")).to_be_attached()

    with page.expect_websocket(timeout=10_000) as second:
        page.evaluate("window.semaphoreTaskLog.current().socket.close()")
        _store(task, ["while away 1", "while away 2"])
    assert second.value.url.endswith("&after=11")
    expect(output.locator("#L13")).to_be_attached()
    _store(task, ["after the drop"])
    expect(output.locator("#L14")).to_contain_text("after the drop")
    seqs = output.locator(".log-line").evaluate_all("rows => rows.map(r => +r.dataset.seq)")
    assert seqs == list(range(1, 15))


def test_load_earlier_inserts_the_block_above_and_keeps_the_view(
    app, live_server, page, screenshot, owner, project
):
    task = _stored_task(project, "success", 5000)
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/tasks/{task.id}")
    output = page.get_by_test_id("task-output")
    lines = output.locator(".log-line")
    expect(lines).to_have_count(2000)
    expect(lines.first).to_have_attribute("id", "L3001")
    assert _at_end(page)
    expect(page.get_by_test_id("log-earlier")).to_contain_text("3,000 earlier lines")

    output.evaluate("pane => { pane.scrollTop = 0; }")
    screenshot("task-live-earlier-control")
    anchor = "pane => document.getElementById('L3001').getBoundingClientRect().top"
    before = output.evaluate(anchor)
    page.get_by_test_id("load-earlier").click()
    expect(lines).to_have_count(4000)
    expect(lines.first).to_have_attribute("id", "L1001")
    assert abs(output.evaluate(anchor) - before) < 30  # what was in view stays in view
    expect(page.get_by_test_id("log-earlier")).to_contain_text("1,000 earlier lines")
    screenshot("task-live-earlier")

    output.evaluate("pane => { pane.scrollTop = 0; }")
    page.get_by_test_id("load-earlier").click()
    expect(lines).to_have_count(5000)
    expect(lines.first).to_have_attribute("id", "L1")
    expect(page.get_by_test_id("log-earlier")).to_have_count(0)


def test_the_search_box_finds_lines_and_jumps_to_them(
    app, live_server, page, screenshot, owner, project
):
    def text(n: int) -> str:
        if n in (1500, 4500):
            return f"\x1b[33mWARNING\x1b[0m: the Needle <{n}> is here"
        return f"ok: [web{n % 7}] step {n}"

    task = _stored_task(project, "success", 5000, text)
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/tasks/{task.id}")
    output = page.get_by_test_id("task-output")
    expect(output.locator("#L5000")).to_be_attached()

    page.get_by_test_id("log-search-submit").click()
    expect(page.get_by_test_id("log-search-error")).to_contain_text("Enter something")
    screenshot("task-live-search-error")

    page.get_by_test_id("log-search-input").fill("needle <")
    page.get_by_test_id("log-search-input").press("Enter")
    results = page.get_by_test_id("log-search-results")
    expect(results.locator(".log-hit")).to_have_count(2)
    expect(results.locator("mark").first).to_have_text("Needle <")
    expect(results).to_contain_text("WARNING: the Needle <1500> is here")
    screenshot("task-live-search")

    # A hit on the page: scrolled into view and marked.
    page.get_by_test_id("log-hit-4500").click()
    target = output.locator("#L4500")
    expect(target).to_have_class("log-line is-target")
    expect(target).to_be_in_viewport()
    # A hit above the shown lines: the blocks up to it are loaded first.
    page.get_by_test_id("log-hit-1500").click()
    target = output.locator("#L1500")
    expect(target).to_have_class("log-line is-target", timeout=10_000)
    expect(target).to_be_in_viewport()
    expect(output.locator("#L4500")).not_to_have_class("log-line is-target")
    screenshot("task-live-search-jump")

    page.get_by_test_id("log-search-close").click()
    expect(page.get_by_test_id("log-search-results")).to_have_count(0)
