"""In the browser on a phone (390x844): every page fits the width, the menu opens and
navigates, and a template's Run button is in reach and runs it.

The pages come from the app's url_map (the `web` blueprint's GET rules), so a new page is
checked without being listed here; one that needs something the world lacks fails.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from semaphore.services import options
from tests import factories
from tests.browser.test_dark_theme import LOW_CONTRAST
from tests.browser.test_project_pages import log_in
from tests.test_list_queries import ARGUMENTS, QUERIES, build_world

pytestmark = pytest.mark.browser

SIZES = {
    "phone": {"width": 390, "height": 844},
    "tablet": {"width": 800, "height": 1000},  # the menu button, tables not stacked yet
    "desktop": {"width": 1280, "height": 800},
}
PHONE, DESKTOP = SIZES["phone"], SIZES["desktop"]
# GET routes of the web blueprint that are no page of a signed-in user, and why.
NOT_PAGES = {
    "web.ansi_css": "a stylesheet",
    "web.login": "signed out (test_login_page_fits_a_phone)",
    "web.verify": "the login's two-factor step, signed out",
}
# Pieces htmx swaps into a page; their page is visited (a plain GET of some shows that page).
PIECES = {
    "web.project_dashboard_chart",
    "web.project_dashboard_tasks",
    "web.integrations_deliveries",
    "web.task_output_before",
    "web.task_output_search",
    "web.tasks_state",
}


def page_paths(app, world: dict) -> tuple[dict[str, str], list[str]]:
    """{endpoint: path} of every page to visit, and the rules that cannot be built."""
    paths, problems = {}, []
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("web.")
        and "GET" in rule.methods
        and rule.endpoint not in NOT_PAGES
        and rule.endpoint not in PIECES
    ]
    for rule in sorted(rules, key=lambda rule: rule.rule):
        names = ARGUMENTS.get(rule.endpoint, {})
        missing = {names.get(arg, arg) for arg in rule.arguments} - set(world)
        if missing:
            problems.append(f"{rule.endpoint}: needs {sorted(missing)}: add it to the world")
            continue
        path = re.sub(
            r"<(?:\w+:)?(\w+)>",
            lambda m, names=names: str(world[names.get(m.group(1), m.group(1))]),
            rule.rule,
        )
        if rule.endpoint in QUERIES:
            path += "?" + QUERIES[rule.endpoint]
        paths[rule.endpoint] = path
    return paths, problems


def is_a_file(headers: dict[str, str]) -> bool:
    return "attachment" in headers.get("content-disposition", "") or not headers.get(
        "content-type", ""
    ).startswith("text/html")


def overflow(page: Page) -> str | None:
    """What sticks out past the viewport's right edge, or None when the page fits."""
    # A page's own stylesheet sits in its body and may load a moment after the content.
    page.wait_for_function(
        "() => [...document.querySelectorAll('link[rel=stylesheet]')].every(link => link.sheet)"
    )
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          if (document.documentElement.scrollWidth <= width) return null;
          const wide = [...document.querySelectorAll('body *')].filter(
            el => el.getBoundingClientRect().right > width + 1 && el.offsetParent !== null);
          const name = el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
            + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '');
          return `scrollWidth ${document.documentElement.scrollWidth}: ` +
            wide.slice(0, 5).map(name).join(', ');
        }"""
    )


@pytest.mark.parametrize(
    "size, scheme",
    [
        ("phone", "light"),
        ("phone", "dark"),
        ("tablet", "light"),
        ("desktop", "light"),
        ("desktop", "dark"),
    ],
)
def test_every_page_fits_and_reads(app, live_server, page, screenshot, size, scheme):
    """No page scrolls sideways; in the dark scheme every text keeps 4.5:1 (as the light one
    was made to)."""
    admin = factories.user(username="root", name="Root Admin", admin=True)
    options.set_color_scheme(admin, scheme)
    world = build_world(admin, 2)
    paths, problems = page_paths(app, world)
    assert set(NOT_PAGES) | PIECES <= set(app.view_functions), "a listed route is gone"
    page.set_viewport_size(SIZES[size])
    log_in(page, live_server, "root")
    for endpoint, path in paths.items():
        answer = page.request.get(live_server + path)
        if answer.status >= 400:
            problems.append(f"{path}: answered {answer.status}")
            continue
        if is_a_file(answer.headers):
            continue  # a download (a project's backup): no page to lay out
        page.goto(live_server + path)
        if page.locator("[data-shell]").count() != 1:
            problems.append(f"{endpoint}: not a whole page; list it in PIECES or NOT_PAGES")
            continue
        wide = overflow(page)
        if wide:
            problems.append(f"{path}: wider than the {size}: {wide}")
        if scheme == "dark":
            problems += [f"{path}: {low}" for low in page.evaluate(LOW_CONTRAST)["low"]]
        screenshot(f"{size}-{scheme}-{endpoint.removeprefix('web.')}")
    assert not problems, "\n".join(problems)
    assert len(paths) > 40  # the url_map really was read


def test_login_page_fits_a_phone(app, live_server, page):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/auth/login")
    expect(page.get_by_test_id("login-submit")).to_be_in_viewport()
    assert overflow(page) is None


def test_the_menu_opens_and_navigates_on_a_phone(app, live_server, page, screenshot):
    owner = factories.user(username="olive", name="Olive Owner")
    project = factories.project(name="Apollo", members={owner: "owner"})
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/templates")
    menu, sidebar = page.get_by_test_id("menu-button"), page.get_by_test_id("sidebar")
    expect(sidebar).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    box = menu.bounding_box()
    assert box and box["width"] >= 44 and box["height"] >= 44  # a finger's size

    menu.click()
    expect(sidebar).to_be_in_viewport(ratio=1)
    expect(menu).to_have_attribute("aria-expanded", "true")
    screenshot("phone-menu-open")
    page.get_by_test_id("nav-keys").click()
    expect(page).to_have_url(re.compile(rf"/project/{project.id}/keys$"))
    expect(page.get_by_test_id("nav-keys")).to_have_attribute("aria-current", "page")
    expect(sidebar).to_be_hidden()  # the new page's shell comes closed

    # After hx-boost swapped the body, the button still works; the backdrop and Escape close.
    menu.click()
    expect(sidebar).to_be_visible()
    page.mouse.click(380, 400)  # on the backdrop, beside the sidebar
    expect(sidebar).to_be_hidden()
    menu.click()
    expect(sidebar).to_be_visible()
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(menu).to_be_focused()

    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("sidebar-project-" + str(project.id)).click()
    expect(page).to_have_url(re.compile(rf"/project/{project.id}(/dashboard)?$"))
    expect(page.get_by_test_id("menu-button")).to_have_attribute("aria-expanded", "false")


def test_on_a_desktop_the_sidebar_stays_and_there_is_no_menu_button(app, live_server, page):
    owner = factories.user(username="olive", name="Olive Owner")
    factories.project(name="Apollo", members={owner: "owner"})
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, "olive")
    expect(page.get_by_test_id("menu-button")).to_be_hidden()
    expect(page.get_by_test_id("sidebar")).to_be_in_viewport()
    assert page.get_by_test_id("sidebar").bounding_box()["width"] == 240


def test_the_first_templates_run_button_works_on_a_phone(app, live_server, page, screenshot):
    owner = factories.user(username="olive", name="Olive Owner")
    project = factories.project(name="Apollo", members={owner: "owner"})
    factories.template(project=project, name="Deploy the web servers", description="All of them")
    factories.template(project=project, name="Zap caches")
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/templates")
    run = page.get_by_test_id("run-template-Deploy the web servers")
    expect(run).to_be_in_viewport(ratio=1)
    box = run.bounding_box()
    assert box and box["height"] >= 40
    assert overflow(page) is None
    screenshot("phone-templates")

    run.click()
    dialog = page.get_by_test_id("run-dialog")
    expect(dialog).to_be_in_viewport()
    expect(dialog.get_by_test_id("run-submit")).to_be_visible()
    screenshot("phone-run-dialog")
    dialog.get_by_test_id("run-submit").click()
    expect(page).to_have_url(re.compile(rf"/project/{project.id}/tasks/\d+$"))
    expect(page.get_by_test_id("task-status")).to_have_attribute("data-status", "waiting")
    assert overflow(page) is None
