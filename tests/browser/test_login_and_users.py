"""In the browser: log in, see the dashboard, add a user in the admin page, log out."""

import re

import pytest
from playwright.sync_api import expect

from semaphore.extensions import db
from semaphore.models import User
from tests import factories

pytestmark = pytest.mark.browser


def test_login_add_user_logout(app, live_server, page, screenshot):
    factories.user(admin=True, username="root", name="Root Admin", email="root@example.com")

    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    screenshot("login")
    page.get_by_test_id("field-auth").fill("root")
    page.get_by_test_id("field-password").fill("wrong password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("form-error")).to_have_text("Invalid login or password")
    page.wait_for_load_state()  # the page's autofocus is applied before anything is typed

    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("empty-dashboard")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_contain_text("Root Admin")
    screenshot("dashboard")

    page.get_by_test_id("nav-users").click()
    expect(page.get_by_test_id("users-table")).to_contain_text("root")
    page.get_by_test_id("new-user").click()
    page.get_by_test_id("field-name").fill("Ada Lovelace")
    page.get_by_test_id("field-username").fill("ada")
    page.get_by_test_id("field-email").fill("not an email")
    page.get_by_test_id("field-password").fill("analytical-engine")
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("error-email")).to_contain_text("not a valid e-mail")
    screenshot("user-form-error")
    page.get_by_test_id("field-email").fill("ada@example.com")
    # Password fields are never sent back to the browser, so it is typed again.
    page.get_by_test_id("field-password").fill("analytical-engine")
    page.get_by_test_id("save-user").click()
    expect(page.get_by_test_id("user-row-ada")).to_contain_text("ada@example.com")
    expect(page.get_by_test_id("flash")).to_contain_text("User ada added")
    screenshot("users")
    assert db.session.query(User).filter_by(username="ada").one().name == "Ada Lovelace"

    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-form")).to_be_visible()
    page.goto(f"{live_server}/users")
    expect(page).to_have_url(re.compile(r"/auth/login"))


def test_admin_removes_a_user_after_confirming(app, live_server, page):
    factories.user(admin=True, username="root", email="root@example.com")
    factories.user(username="leaver", email="leaver@example.com")
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("field-auth").fill("root")
    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()
    page.goto(f"{live_server}/users")
    page.get_by_test_id("delete-user-leaver").click()
    page.get_by_test_id("confirm-ok").click()  # the styled confirm dialog
    expect(page.get_by_test_id("user-row-leaver")).to_have_count(0)
    expect(page.get_by_test_id("flash")).to_contain_text("User leaver removed")
    assert db.session.query(User).filter_by(username="leaver").first() is None
