"""In the browser: the template list with 200 templates in two views: search, paging, page
size, view tabs and the app filter keep their state in the URL; a row's last task follows a
task started elsewhere without a reload; on a phone the list fits and Run is in reach. The
Key Store's "used by" links are looked at too (screenshots in SEMAPHORE_SCREENSHOT_DIR)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import Template, TemplateVault
from semaphore.services import options, tasks
from semaphore.services.permissions import project_access
from tests import factories
from tests.browser.htmx_wait import settled
from tests.browser.test_dark_theme import LOW_CONTRAST, shoot
from tests.browser.test_project_pages import log_in
from tests.browser.test_responsive_shell import DESKTOP, PHONE, overflow
from tests.browser.test_security_headers import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser

ROWS = "[data-testid^='template-row-']"
COUNT = 200


def _name(n: int) -> str:
    return f"Template {n:03d}"


@pytest.fixture
def world(app):
    """Olive owns Apollo: 200 templates, even ones in view "Web", odd ones in "Db"; every
    tenth a bash script; one described as the needle; the first has run once."""
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    project = factories.project(name="Apollo", members={owner: "owner"})
    key = factories.key(project=project, name="deploy-key")
    repository = factories.repository(project=project, name="site", ssh_key_id=key.id)
    inventory = factories.inventory(project=project, name="prod", ssh_key_id=key.id)
    web = factories.view(project=project, title="Web", position=1)
    dbs = factories.view(project=project, title="Db", position=2)
    rows = [
        Template(
            project_id=project.id,
            name=_name(n),
            app="bash" if n % 10 == 5 else "ansible",
            playbook="run.sh" if n % 10 == 5 else f"play{n}.yml",
            description="Finds the needle" if n == 137 else None,
            repository_id=repository.id,
            inventory_id=inventory.id,
            view_id=web.id if n % 2 == 0 else dbs.id,
        )
        for n in range(COUNT)
    ]
    db.session.add_all(rows)
    db.session.flush()
    db.session.add(
        TemplateVault(project_id=project.id, template_id=rows[0].id, vault_key_id=key.id)
    )
    db.session.commit()
    factories.task(of=rows[0], status="success", user_id=owner.id)
    return {"owner": owner, "project": project, "views": (web, dbs), "templates": rows}


def _names(page: Page) -> list[str]:
    return [
        testid.removeprefix("template-row-")
        for testid in page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.testid)")
    ]


def _shoot_screen(page: Page, name: str) -> None:
    """What the first screen shows (the full-page shot of a phone is too long to look at)."""
    directory = os.environ.get("SEMAPHORE_SCREENSHOT_DIR")
    if directory:
        page.screenshot(path=str(Path(directory) / f"{name}.png"), caret="initial")


def _base(live_server: str, world) -> str:
    return f"{live_server}/project/{world['project'].id}/templates"


@pytest.fixture
def watched(page: Page):
    """The page, with its script errors, console errors and CSP violations (htmx logs a failed
    swap to the console), which must stay empty."""
    problems: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: message.type == "error" and problems.append(f"console: {message.text}"),
    )
    yield page
    if page.url.startswith("http"):
        problems += [f"CSP: {v}" for v in page.evaluate("window.__cspViolations || []")]
    assert problems == []


def test_search_paging_views_and_app_filter(app, live_server, watched, world, screenshot):
    page = watched
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "olive")
    base = _base(live_server, world)
    page.goto(base)
    expect(page.locator(ROWS)).to_have_count(20)
    expect(page.get_by_test_id("template-page-info")).to_have_text("Page 1 of 10 · 200 templates")
    assert _names(page) == [_name(n) for n in range(20)]
    expect(page.get_by_test_id("last-task-status-Template 000")).to_have_attribute(
        "data-status", "success"
    )
    screenshot("template-list-desktop-light")

    # Next page, then a bigger page size (back to page 1); the URL keeps the state.
    settled(page)
    page.get_by_test_id("templates-next").click()
    expect(page.get_by_test_id("template-page-info")).to_contain_text("Page 2 of 10")
    assert _names(page) == [_name(n) for n in range(20, 40)]
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    settled(page)
    page.get_by_test_id("template-per-page").select_option("50")
    expect(page.locator(ROWS)).to_have_count(50)
    expect(page).to_have_url(re.compile(r"per_page=50"))
    expect(page.get_by_test_id("template-page-info")).to_have_text("Page 1 of 4 · 200 templates")

    # Search narrows to one as it is typed (description, any case); clearing brings all back.
    search = page.get_by_test_id("template-search")
    search.press_sequentially("NEEDLE", delay=30)
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.get_by_test_id("template-row-Template 137")).to_be_visible()
    expect(search).to_be_focused()
    expect(page).to_have_url(re.compile(r"q=NEEDLE"))
    page.reload()
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.get_by_test_id("template-search")).to_have_value("NEEDLE")
    settled(page)
    page.get_by_test_id("template-search").fill("no such thing")
    expect(page.get_by_test_id("templates-empty")).to_contain_text(
        "No templates match “no such thing”"
    )
    settled(page)
    page.get_by_test_id("clear-filters").click()
    expect(page.locator(ROWS)).to_have_count(50)
    expect(page.get_by_test_id("template-search")).to_have_value("")

    # View tabs: the Db view holds the odd templates only.
    settled(page)
    page.get_by_test_id("view-tab-Db").click()
    expect(page.get_by_test_id("view-tab-Db")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("template-page-info")).to_have_text("Page 1 of 2 · 100 templates")
    assert _names(page)[:3] == [_name(1), _name(3), _name(5)]

    # The app filter, inside the view: bash templates of Db (5, 15, …, 195).
    settled(page)
    page.get_by_test_id("template-app-filter").select_option("bash")
    expect(page.get_by_test_id("template-page-info")).to_have_text("Page 1 of 1 · 20 templates")
    assert _names(page) == [_name(n) for n in range(5, COUNT, 10)]
    view_id = world["views"][1].id
    expect(page).to_have_url(re.compile(rf"view={view_id}.*app=bash|app=bash.*view={view_id}"))
    # All keeps the app filter (every bash template is odd, so still 20), then drop it.
    settled(page)
    page.get_by_test_id("view-tab-all").click()
    expect(page.get_by_test_id("view-tab-all")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("template-page-info")).to_have_text("Page 1 of 1 · 20 templates")
    settled(page)
    page.get_by_test_id("template-app-filter").select_option("")
    expect(page.get_by_test_id("template-page-info")).to_have_text("Page 1 of 4 · 200 templates")
    expect(page).to_have_url(re.compile(r"/templates\?q=&app=&per_page=50$"))
    screenshot("template-list-desktop-filtered")


def test_a_started_task_shows_in_its_row_without_a_reload(app, live_server, watched, world):
    page = watched
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "olive")
    page.goto(_base(live_server, world))
    template = world["templates"][3]
    row_status = page.get_by_test_id(f"last-task-status-{template.name}")
    expect(row_status).to_have_count(0)
    page.evaluate("window.__notReloaded = true")

    access = project_access(world["owner"], world["project"].id)
    task = tasks.create_task(access, {"template_id": template.id})  # another session's task
    # The idle list polls every 10 s; then every 3 s while the task has not finished.
    expect(row_status).to_have_attribute("data-status", "waiting", timeout=20_000)
    expect(page.get_by_test_id(f"last-task-link-{template.name}")).to_have_text(f"#{task.id}")
    expect(page.get_by_test_id("template-results")).to_have_attribute("data-poll-seconds", "3")
    task.status = "success"
    db.session.commit()
    expect(row_status).to_have_attribute("data-status", "success", timeout=10_000)
    expect(page.get_by_test_id("template-results")).to_have_attribute("data-poll-seconds", "10")
    assert page.evaluate("window.__notReloaded") is True


def test_on_a_phone_the_list_fits_and_run_is_in_reach(app, live_server, page, world, screenshot):
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "olive")
    page.goto(_base(live_server, world))
    expect(page.locator(ROWS)).to_have_count(20)
    assert overflow(page) is None
    run = page.get_by_test_id("run-template-Template 000")
    expect(run).to_be_in_viewport(ratio=1)
    screenshot("template-list-phone-light")
    settled(page)
    page.get_by_test_id("template-search").fill("needle")
    expect(page.locator(ROWS)).to_have_count(1)
    assert overflow(page) is None
    settled(page)
    page.get_by_test_id("run-template-Template 137").click()
    expect(page.get_by_test_id("run-dialog")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_list_and_the_keys_page_read_well(app, live_server, browser, world, scheme, size):
    """Screenshots of both pages in both schemes and sizes; no sideways scroll and, in the
    dark, every text at 4.5:1."""
    options.set_color_scheme(world["owner"], scheme)
    context = browser.new_context(viewport=DESKTOP if size == "desktop" else PHONE)
    page = context.new_page()
    try:
        log_in(page, live_server, "olive")
        page.goto(_base(live_server, world) + "?q=Template+0")
        expect(page.locator(ROWS)).to_have_count(20)
        pages = {
            "template-list": page.url,
            "keys": f"{live_server}/project/{world['project'].id}/keys",
        }
        for name, url in pages.items():
            page.goto(url)
            assert overflow(page) is None, name
            if scheme == "dark":
                assert page.evaluate(LOW_CONTRAST)["low"] == [], name
            shoot(page, f"{name}-{size}-{scheme}")
            _shoot_screen(page, f"{name}-{size}-{scheme}-screen")
        used_by = page.get_by_test_id("key-used-by-deploy-key")
        expect(used_by.locator("a")).to_have_count(3)
        used_by.get_by_text("Template 000").click()
        expect(page).to_have_url(re.compile(rf"/templates/{world['templates'][0].id}$"))
    finally:
        context.close()
