"""In the browser: create a project, fill it through its pages, and look at it as a guest."""

import re

import pytest
from playwright.sync_api import Page, expect

from semaphore.extensions import db
from semaphore.models import AccessKey, Template
from tests import factories

pytestmark = pytest.mark.browser


def log_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("field-auth").fill(username)
    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    # Attached, not visible: on a phone the user menu is in the closed off-canvas menu.
    expect(page.get_by_test_id("user-menu")).to_be_attached()


def test_admin_creates_a_project_from_the_dashboard(app, live_server, page, screenshot):
    factories.user(admin=True, username="root", name="Root Admin", email="root@example.com")
    log_in(page, live_server, "root")
    page.get_by_test_id("new-project").click()
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("error-name")).to_contain_text("Name is required")
    page.get_by_test_id("field-name").fill("Apollo")
    screenshot("project-new")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Project Apollo created")
    expect(page.get_by_test_id("project-nav")).to_be_visible()
    expect(page.get_by_test_id("nav-dashboard")).to_have_attribute("aria-current", "page")
    page.get_by_test_id("nav-keys").click()
    expect(page.get_by_test_id("key-row-None")).to_be_visible()
    page.goto(f"{live_server}/")
    expect(page.get_by_test_id("project-list")).to_contain_text("Apollo")
    screenshot("dashboard-with-project")


def test_owner_fills_a_project_through_its_pages(app, live_server, page, screenshot):
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    project = factories.project(name="Apollo", members={owner: "owner"})
    factories.user(username="gus", name="Gus Guest", email="gus@example.com")
    base = f"{live_server}/project/{project.id}"
    log_in(page, live_server, "olive")

    # A key: the secret fields follow the chosen type.
    page.goto(f"{base}/keys")
    page.get_by_test_id("new-key").click()
    page.get_by_test_id("field-name").fill("deploy")
    expect(page.get_by_test_id("field-login_password_password")).to_be_hidden()
    page.get_by_test_id("field-type").select_option("login_password")
    expect(page.get_by_test_id("field-ssh_private_key")).to_be_hidden()
    page.get_by_test_id("field-login_password_login").fill("deployer")
    page.get_by_test_id("field-login_password_password").fill("s3cret")
    screenshot("key-form")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("key-row-deploy")).to_contain_text("Login with password")
    screenshot("keys")

    # A repository: the service's message appears at the field, then it is fixed.
    page.get_by_test_id("nav-repositories").click()
    page.get_by_test_id("new-repository").click()
    page.get_by_test_id("field-name").fill("site")
    page.get_by_test_id("field-git_url").fill("https://example.com/site.git")
    page.get_by_test_id("field-ssh_key_id").select_option(label="deploy")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("error-git_branch")).to_contain_text("Branch is required")
    screenshot("repository-form-error")
    page.get_by_test_id("field-git_branch").fill("main")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("repository-row-site")).to_contain_text("example.com/site.git")
    screenshot("repositories")

    # An inventory.
    page.get_by_test_id("nav-inventories").click()
    page.get_by_test_id("new-inventory").click()
    page.get_by_test_id("field-name").fill("web hosts")
    page.get_by_test_id("field-inventory").fill("[web]\nweb1.example.com\nweb2.example.com")
    page.get_by_test_id("field-ssh_key_id").select_option(label="deploy")
    screenshot("inventory-form")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("inventory-row-web hosts")).to_contain_text("Static (INI)")
    screenshot("inventories")

    # An environment with two secrets; their values are never shown again.
    page.get_by_test_id("nav-environments").click()
    page.get_by_test_id("new-environment").click()
    page.get_by_test_id("field-name").fill("production")
    page.get_by_test_id("field-json").fill('{"tier": "production"}')
    page.get_by_test_id("field-secrets-0-name").fill("DB_PASSWORD")
    page.get_by_test_id("field-secrets-0-secret").fill("pa55word")
    page.get_by_test_id("add-secret-row").click()
    page.get_by_test_id("field-secrets-1-type").select_option("env")
    page.get_by_test_id("field-secrets-1-name").fill("API_TOKEN")
    page.get_by_test_id("field-secrets-1-secret").fill("t0ken")
    screenshot("environment-form")
    page.get_by_test_id("save").click()
    row = page.get_by_test_id("environment-row-production")
    expect(row).to_contain_text("var.DB_PASSWORD")
    expect(row).to_contain_text("env.API_TOKEN")
    screenshot("environments")
    page.get_by_test_id("edit-environment-production").click()
    expect(page.get_by_test_id("secret-list")).to_contain_text("API_TOKEN")
    expect(page.locator("body")).not_to_contain_text("t0ken")
    screenshot("environment-edit")

    # A template using all of them.
    page.get_by_test_id("nav-templates").click()
    page.get_by_test_id("new-template").click()
    page.get_by_test_id("field-name").fill("Deploy site")
    page.get_by_test_id("field-playbook").fill("deploy.yml")
    page.get_by_test_id("field-repository_id").select_option(label="site")
    page.get_by_test_id("field-inventory_id").select_option(label="web hosts")
    page.get_by_test_id("field-environment_id").select_option(label="production")
    page.get_by_test_id("add-arguments").click()
    page.get_by_test_id("field-arguments-0").fill("--diff")
    screenshot("template-form")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("template-row-Deploy site")).to_contain_text("deploy.yml")
    screenshot("templates")

    # Edit it.
    page.get_by_test_id("edit-template-Deploy site").click()
    page.get_by_test_id("field-playbook").fill("site.yml")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("template-row-Deploy site")).to_contain_text("site.yml")
    expect(page.get_by_test_id("flash")).to_contain_text("Template Deploy site saved")

    # A view and a schedule, for their pages.
    page.get_by_test_id("nav-views").click()
    page.get_by_test_id("new-view").click()
    page.get_by_test_id("field-title").fill("Deployments")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("view-row-Deployments")).to_be_visible()
    screenshot("views")
    page.get_by_test_id("nav-schedules").click()
    page.get_by_test_id("new-schedule").click()
    page.get_by_test_id("field-name").fill("nightly")
    page.get_by_test_id("field-template_id").select_option(label="Deploy site")
    page.get_by_test_id("field-cron_format").fill("0 3 * * *")
    screenshot("schedule-form")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("schedule-row-nightly")).to_contain_text("0 3 * * *")
    screenshot("schedules")

    # Delete the key: it is in use, so it stays and the page says why.
    page.get_by_test_id("nav-keys").click()
    page.get_by_test_id("delete-key-deploy").click()
    page.get_by_test_id("confirm-ok").click()  # the styled confirm dialog
    expect(page.get_by_test_id("flash")).to_contain_text("still used by")
    screenshot("key in use")
    assert db.session.query(AccessKey).filter_by(name="deploy").count() == 1
    # The message links what uses it.
    page.get_by_test_id("in-use-repository").click()
    expect(page.get_by_test_id("field-name")).to_have_value("site")

    # Delete the template after confirming.
    page.get_by_test_id("nav-templates").click()
    page.get_by_test_id("delete-template-Deploy site").click()
    page.get_by_test_id("confirm-ok").click()  # the styled confirm dialog
    expect(page.get_by_test_id("flash")).to_contain_text("Template Deploy site removed")
    expect(page.get_by_test_id("template-row-Deploy site")).to_have_count(0)
    assert db.session.query(Template).count() == 0

    # The team: add the guest.
    page.get_by_test_id("nav-members").click()
    page.get_by_test_id("field-user_id").select_option(label="Gus Guest (gus)")
    page.get_by_test_id("field-role").select_option("guest")
    page.get_by_test_id("add-member").click()
    expect(page.get_by_test_id("member-row-gus")).to_be_visible()
    page.get_by_test_id("role-gus").select_option("task_runner")
    expect(page.get_by_test_id("flash")).to_contain_text("Role changed")
    expect(page.get_by_test_id("role-gus")).to_have_value("task_runner")
    screenshot("members")

    page.get_by_test_id("nav-activity").click()
    expect(page.get_by_test_id("activity-table")).to_contain_text("Template Deploy site deleted")
    screenshot("activity")
    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("field-max_parallel_tasks").fill("many")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("error-max_parallel_tasks")).to_contain_text("must be an integer")
    screenshot("settings-error")
    page.get_by_test_id("field-max_parallel_tasks").fill("2")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Project Apollo saved")
    screenshot("settings")


def test_a_guest_sees_no_edit_buttons(app, live_server, page, screenshot):
    guest = factories.user(username="gus", name="Gus Guest", email="gus@example.com")
    project = factories.project(name="Apollo", members={guest: "guest"})
    factories.key(project=project, name="deploy")
    factories.template(project=project, name="Deploy site")
    log_in(page, live_server, "gus")
    page.get_by_test_id(f"open-project-{project.id}").click()
    page.get_by_test_id("nav-templates").click()
    expect(page.get_by_test_id("template-row-Deploy site")).to_be_visible()
    expect(page.get_by_test_id("new-template")).to_have_count(0)
    expect(page.get_by_test_id("edit-template-Deploy site")).to_have_count(0)
    screenshot("templates-guest")
    page.get_by_test_id("nav-keys").click()
    expect(page.get_by_test_id("key-row-deploy")).to_be_visible()
    expect(page.locator("[data-testid^=edit-], [data-testid^=delete-]")).to_have_count(0)
    page.get_by_test_id("nav-settings").click()
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_test_id("field-name")).to_be_disabled()
    screenshot("settings-guest")
    page.goto(f"{live_server}/project/{project.id}/keys/new")
    expect(page.get_by_test_id("error-page")).to_contain_text("403")
    expect(page).to_have_url(re.compile(r"/keys/new$"))
