"""In the browser (issue 20, points 6 and 7): who started a task, the styled confirm dialog,
backup and restore on the settings page, the copy button of a new token, the password rule.

With SEMAPHORE_SCREENSHOT_DIR set, each page is saved at 1280x800 and at 390x844.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import AccessKey, Integration, Project, Template, User
from tests import factories
from tests.browser.test_task_pages import log_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def both_sizes(page: Page):
    """Screenshots of the page as it is, at both sizes (then back at the desktop size), when
    SEMAPHORE_SCREENSHOT_DIR is set. Transitions are finished first: a resize to the phone
    width slides the sidebar away."""
    directory = os.environ.get("SEMAPHORE_SCREENSHOT_DIR")

    def take(name: str) -> None:
        if not directory:
            return
        Path(directory).mkdir(parents=True, exist_ok=True)
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            path = str(Path(directory) / f"{name}-{size}.png")
            page.screenshot(path=path, full_page=True, caret="initial", animations="disabled")
        page.set_viewport_size({"width": 1280, "height": 800})

    page.set_viewport_size({"width": 1280, "height": 800})
    return take


@pytest.fixture
def owner(app):
    return factories.user(username="olive", name="Olive Owner", email="olive@example.com")


@pytest.fixture
def project(owner):
    return factories.project(name="Apollo", members={owner: "owner"})


def test_tasks_say_who_started_them_with_links(app, live_server, page, owner, project, both_sizes):
    build = factories.template(project=project, name="Build app", type="build")
    deploy = factories.template(
        project=project, name="Deploy app", type="deploy", build_template_id=build.id
    )
    schedule = factories.schedule(project=project, template_id=build.id, name="nightly")
    integration = Integration(project_id=project.id, name="github push", template_id=build.id)
    db.session.add(integration)
    db.session.commit()
    built = factories.task(of=build, schedule_id=schedule.id, version="1.0.3")
    hooked = factories.task(of=build, integration_id=integration.id)
    deployed = factories.task(of=deploy, build_task_id=built.id, version="1.0.3")
    by_hand = factories.task(of=deploy, user_id=owner.id)
    base = f"{live_server}/project/{project.id}"
    log_in(page, live_server, "olive")

    page.goto(f"{base}/history")
    history = page.get_by_test_id("task-list")
    expect(history.get_by_test_id(f"started-by-{by_hand.id}")).to_have_text("Olive Owner")
    expect(history.get_by_test_id(f"started-by-{hooked.id}")).to_have_text(
        "Integration github push"
    )
    expect(history.get_by_test_id(f"started-by-{deployed.id}")).to_have_text(
        f"after build #{built.id}"
    )
    both_sizes("history-started-by")
    history.get_by_test_id(f"started-by-{built.id}").get_by_role("link").click()
    expect(page).to_have_url(f"{base}/schedules#schedule-{schedule.id}")
    expect(page.locator(f"#schedule-{schedule.id}")).to_contain_text("nightly")

    page.goto(f"{base}/tasks/{hooked.id}")
    expect(page.get_by_test_id("task-user")).to_have_text("Integration github push")
    page.get_by_test_id("started-by-integration").click()
    expect(page).to_have_url(f"{base}/integrations/{integration.id}")

    page.goto(f"{base}/tasks/{deployed.id}")
    expect(page.get_by_test_id("task-user")).to_have_text(f"after build #{built.id}")
    both_sizes("task-started-by-build")
    page.get_by_test_id("task-user").get_by_test_id("started-by-build").click()
    expect(page).to_have_url(f"{base}/tasks/{built.id}")
    expect(page.get_by_test_id("task-user")).to_have_text("Schedule nightly")

    page.goto(f"{base}/dashboard")
    expect(page.get_by_test_id(f"started-by-{hooked.id}")).to_have_text("Integration github push")
    both_sizes("project-dashboard-started-by")


def test_a_delete_asks_in_a_styled_dialog(app, live_server, page, project, both_sizes):
    factories.key(project=project, name="spare")
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/keys")
    native: list = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))

    page.get_by_test_id("delete-key-spare").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("confirm-question")).to_have_text("Delete key spare?")
    expect(dialog.get_by_test_id("confirm-ok")).to_have_text("Delete")
    both_sizes("confirm-dialog")
    dialog.get_by_test_id("confirm-cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("key-row-spare")).to_be_visible()
    assert db.session.query(AccessKey).filter_by(name="spare").count() == 1

    page.get_by_test_id("delete-key-spare").click()
    page.keyboard.press("Escape")  # Escape is a Cancel too
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("key-row-spare")).to_be_visible()

    page.get_by_test_id("delete-key-spare").click()
    dialog.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("key-row-spare")).to_have_count(0)
    expect(page.get_by_test_id("flash")).to_contain_text("spare")
    # The success message fades and then leaves no empty band behind.
    expect(page.locator(".flashes")).to_have_count(0, timeout=15000)
    db.session.expire_all()
    assert db.session.query(AccessKey).filter_by(name="spare").count() == 0
    assert native == []  # the browser's own confirm() never showed


def test_backup_downloads_and_restores_through_the_page(
    app, live_server, page, project, both_sizes, tmp_path
):
    factories.template(project=project, name="Deploy web", playbook="site.yml")
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/settings")
    both_sizes("settings-backup-restore")
    with page.expect_download() as download_info:
        page.get_by_test_id("download-backup").click()
    download = download_info.value
    assert download.suggested_filename == "Apollo-backup.json"
    saved = tmp_path / "apollo.json"
    download.save_as(saved)
    assert json.loads(saved.read_text())["meta"]["name"] == "Apollo"

    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    page.get_by_test_id("field-file").set_input_files(bad)
    page.get_by_test_id("restore").click()
    expect(page.get_by_test_id("error-file")).to_contain_text("The file is not a backup")
    both_sizes("settings-restore-refused")

    page.get_by_test_id("field-file").set_input_files(saved)
    page.get_by_test_id("restore").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Project Apollo restored from the backup")
    copy = db.session.query(Project).filter(Project.id != project.id).one()
    expect(page).to_have_url(re.compile(rf"/project/{copy.id}/"))
    assert db.session.query(Template).filter_by(project_id=copy.id).one().name == "Deploy web"


def test_a_new_token_has_a_copy_button(app, live_server, page, project, both_sizes):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/account")
    page.get_by_test_id("field-name").fill("CI")
    page.get_by_test_id("create-token").click()
    token = page.get_by_test_id("new-token").input_value()
    assert len(token) > 20
    page.get_by_test_id("copy-token").click()
    expect(page.get_by_test_id("copy-token")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == token
    both_sizes("account-new-token")


def test_a_short_password_is_refused_at_its_field(app, live_server, page, both_sizes):
    factories.user(admin=True, username="root", name="Root", email="root@example.com")
    log_in(page, live_server, "root")
    page.goto(f"{live_server}/users/new")
    page.get_by_test_id("field-name").fill("Ada")
    page.get_by_test_id("field-username").fill("ada")
    page.get_by_test_id("field-email").fill("ada@example.com")
    page.get_by_test_id("field-password").fill("1234567")
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("error-password")).to_have_text(
        "The password must be at least 8 characters long"
    )
    both_sizes("user-password-too-short")
    page.get_by_test_id("field-password").fill("12345678")
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("user-row-ada")).to_be_visible()
    assert db.session.query(User).filter_by(username="ada").count() == 1


def test_a_webhook_url_has_a_copy_button(app, live_server, page, project, both_sizes):
    template = factories.template(project=project, name="Deploy")
    integration = Integration(project_id=project.id, name="push", template_id=template.id)
    db.session.add(integration)
    db.session.commit()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/integrations/{integration.id}")
    page.get_by_test_id("add-alias").click()
    url = page.get_by_test_id("alias-url").input_value()
    assert "/api/integrations/" in url
    page.locator("[data-testid^=copy-alias-]").click()
    expect(page.locator("[data-testid^=copy-alias-]")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == url
    both_sizes("integration-copy-url")
    # On a phone the URL shrinks for its buttons, which stay inside the card.
    page.set_viewport_size({"width": 390, "height": 844})
    card = page.get_by_test_id("integration-aliases").bounding_box()
    for button in page.get_by_test_id("alias-row").locator("button").all():
        box = button.bounding_box()
        assert box["x"] + box["width"] <= card["x"] + card["width"], box
