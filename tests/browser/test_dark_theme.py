"""In the browser: the dark theme. The user's color_scheme option ("auto", "light", "dark")
decides, "auto" follows the OS (Playwright's color_scheme), the user menu's switch overrides
the OS and is remembered; dark pages keep every text readable (WCAG contrast >= 4.5:1).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from semaphore.extensions import db
from semaphore.models import TaskOutputChunk, utcnow
from semaphore.services import options
from tests import factories
from tests.browser.test_project_pages import log_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
ESC = "\x1b"
# Every colour ansi2html gives a class to, foreground and bright, then bold and underlined.
ANSI_LINES = [f"{ESC}[{code}mcolour {code}{ESC}[0m" for code in [*range(30, 38), *range(90, 98)]]
ANSI_LINES += [f"{ESC}[1;31mbold red{ESC}[0m", f"{ESC}[4;36munderlined cyan{ESC}[0m"]

# The contrast of every element that shows text of its own (and every form control) against
# the background it is drawn on: the first opaque background up its ancestors, with the
# translucent ones between blended in. Returns the pairs under 4.5:1.
LOW_CONTRAST = """() => {
  const parse = (text) => {
    const m = text.match(/^rgba?\\(([^)]+)\\)$/);
    if (!m) throw new Error('a colour this check cannot read: ' + text);
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, base) =>
    [0, 1, 2].map(i => top[i] * top[3] + base[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let base = [255, 255, 255, 1];  // the canvas under an unpainted page
    for (const layer of layers.reverse()) base = over(layer, base);
    return base;
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const ownText = (el) => [...el.childNodes].some(
    n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  const controls =
    'input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea';
  const low = [];
  let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    if (!(ownText(el) || el.matches(controls))) continue;
    if (el.matches(':disabled, option, script, style')) continue;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const bg = background(el);
    const fg = over(parse(getComputedStyle(el).color), bg);
    const r = ratio(fg, bg);
    checked += 1;
    if (r < 4.5) {
      const name = [el.tagName.toLowerCase(), ...el.classList].join('.');
      low.push(`${name} "${(el.textContent || el.value || '').trim().slice(0, 30)}": ` +
               `${r.toFixed(2)} (${fg.slice(0, 3)} on ${bg.slice(0, 3)})`);
    }
  }
  return {checked, low};
}"""
PAGE_BACKGROUND = """() => {
  const body = getComputedStyle(document.body).backgroundColor;
  const root = getComputedStyle(document.documentElement).backgroundColor;
  return body === 'rgba(0, 0, 0, 0)' ? root : body;
}"""


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot when SEMAPHORE_SCREENSHOT_DIR is set (as the `screenshot` fixture)."""
    directory = os.environ.get("SEMAPHORE_SCREENSHOT_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True, caret="initial")


def open_page(
    browser: Browser, os_scheme: str, size: str = "desktop"
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(color_scheme=os_scheme, viewport=SIZES[size])
    return context, context.new_page()


def is_dark(page: Page) -> bool:
    red, green, blue = (
        int(part) for part in page.evaluate(PAGE_BACKGROUND).strip("rgba()").split(",")[:3]
    )
    return max(red, green, blue) < 60


@pytest.fixture
def world(app):
    """Olive owns Apollo: a build template in a view, a deploy template, a task with ANSI output."""
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    project = factories.project(name="Apollo", members={owner: "owner"})
    view = factories.view(project=project, title="Web")
    build = factories.template(
        project=project, name="Build", type="build", view_id=view.id, description="Makes it"
    )
    factories.template(project=project, name="Deploy", type="deploy", build_template_id=build.id)
    task = factories.task(of=build, status="error", message="first try", user_id=owner.id)
    db.session.add(
        TaskOutputChunk(
            task_id=task.id,
            first_seq=1,
            line_count=len(ANSI_LINES),
            started=utcnow(),
            times=",".join("0" * len(ANSI_LINES)),
            output="\n".join(ANSI_LINES),
        )
    )
    db.session.commit()
    return {"owner": owner, "project": project.id, "template": build.id, "task": task.id}


@pytest.mark.parametrize("size", SIZES)
def test_dark_pages_are_dark_and_readable(app, live_server, browser, world, size):
    options.set_color_scheme(world["owner"], "dark")
    context, page = open_page(browser, "light", size)  # the option wins over a light OS
    log_in(page, live_server, "olive")
    base = f"{live_server}/project/{world['project']}"
    pages = {
        "templates": f"{base}/templates",
        "template-form": f"{base}/templates/{world['template']}/edit",
        "task": f"{base}/tasks/{world['task']}",
    }
    problems = []
    for name, url in pages.items():
        page.goto(url)
        page.wait_for_function(
            "() => [...document.querySelectorAll('link[rel=stylesheet]')].every(link => link.sheet)"
        )
        if name == "task":
            expect(page.get_by_test_id("task-output")).to_contain_text("underlined cyan")
            assert page.locator(".term [class*=ansi]").count() >= len(ANSI_LINES)
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        assert is_dark(page), f"{name}: the page is not dark"
        if name == "templates" and size == "desktop":
            page.get_by_test_id("user-menu").click()  # its theme switch is checked too
            expect(page.get_by_test_id("theme-dark")).to_have_attribute("aria-pressed", "true")
        result = page.evaluate(LOW_CONTRAST)
        assert result["checked"] > 20  # the check really looked at the page
        problems += [f"{name}: {low}" for low in result["low"]]
        shoot(page, f"dark-{size}-{name}")
    context.close()
    assert not problems, "\n".join(problems)


def test_light_pages_keep_readable_log_colours(app, live_server, browser, world):
    # The log pane is dark in both schemes: its ANSI colours must read on it in light too.
    context, page = open_page(browser, "light")
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{world['project']}/tasks/{world['task']}")
    expect(page.get_by_test_id("task-output")).to_contain_text("underlined cyan")
    assert not is_dark(page)
    low = page.evaluate(LOW_CONTRAST)["low"]
    assert not [line for line in low if "ansi" in line or "log-" in line], low
    shoot(page, "light-desktop-task")
    context.close()


@pytest.mark.parametrize(
    "option, os_scheme, dark",
    [
        (None, "dark", True),  # no option: auto
        (None, "light", False),
        ("auto", "dark", True),
        ("auto", "light", False),
        ("light", "dark", False),
        ("dark", "light", True),
    ],
)
def test_the_option_or_else_the_os_decides(
    app, live_server, browser, world, option, os_scheme, dark
):
    if option:
        options.set_color_scheme(world["owner"], option)
    context, page = open_page(browser, os_scheme)
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{world['project']}/templates")
    expect(page.locator("html")).to_have_attribute("data-theme", (option or "auto"))
    assert is_dark(page) is dark
    context.close()


def test_the_switch_overrides_the_os_and_is_remembered(app, live_server, browser, world):
    context, page = open_page(browser, "dark")
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{world['project']}/templates")
    assert is_dark(page)
    expect(page.get_by_test_id("theme-auto")).to_have_attribute("aria-pressed", "true")

    page.get_by_test_id("user-menu").click()
    with page.expect_response(lambda r: r.url.endswith("/account/color-scheme")) as posted:
        page.get_by_test_id("theme-light").click()
    assert posted.value.status == 204
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert not is_dark(page)  # at once, without a reload
    expect(page.get_by_test_id("theme-light")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("theme-auto")).to_have_attribute("aria-pressed", "false")
    shoot(page, "switch-light-on-dark-os")

    # Boosted navigation keeps it, and so do a reload and another browser.
    page.get_by_test_id("nav-keys").click()
    expect(page).to_have_url(f"{live_server}/project/{world['project']}/keys")
    assert not is_dark(page)
    page.reload()
    assert not is_dark(page)
    context.close()
    context, page = open_page(browser, "dark", "phone")
    log_in(page, live_server, "olive")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert not is_dark(page)

    # On a phone the switch is in the menu; back to following the OS.
    page.get_by_test_id("menu-button").click()
    page.get_by_test_id("user-menu").click()
    shoot(page, "switch-phone-menu")
    with page.expect_response(lambda r: r.url.endswith("/account/color-scheme")):
        page.get_by_test_id("theme-auto").click()
    assert is_dark(page)
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "auto")
    assert is_dark(page)
    context.close()


@pytest.mark.parametrize("os_scheme", ["light", "dark"])
def test_the_login_page_follows_the_os(app, live_server, browser, os_scheme):
    context, page = open_page(browser, os_scheme, "phone")
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("login-submit").click()  # an empty form: messages at the fields
    expect(page.get_by_test_id("field-auth")).to_be_visible()
    assert is_dark(page) is (os_scheme == "dark")
    if os_scheme == "dark":
        assert page.evaluate(LOW_CONTRAST)["low"] == []
    shoot(page, f"login-{os_scheme}-phone")
    context.close()
