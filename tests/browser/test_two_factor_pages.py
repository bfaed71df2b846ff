"""In the browser: set up two-factor sign-in from the account page, sign in with a code,
then with a recovery code; the pages raise no CSP violation."""

from __future__ import annotations

import json
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.test_security_headers import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser


def sign_in_with_password(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("field-auth").fill("grace")
    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()


def sign_out(page: Page) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-form")).to_be_visible()


def test_enrol_then_sign_in_with_a_code_and_with_a_recovery_code(
    app, live_server, page, screenshot
):
    factories.user(username="grace", name="Grace Hopper")
    violations: list = []
    page.add_init_script(RECORD_VIOLATIONS)

    def collect() -> None:
        violations.extend(
            {"url": page.url, **v} for v in page.evaluate("window.__cspViolations.splice(0)")
        )

    sign_in_with_password(page, live_server)
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("nav-account").click()
    expect(page.get_by_test_id("totp-off")).to_be_visible()
    page.get_by_test_id("totp-begin").click()
    qr = page.get_by_test_id("totp-qr").locator("svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box and box["width"] >= 150 and box["height"] >= 150  # big enough to scan
    screenshot("account-totp-enrol")
    collect()

    totp = pyotp.TOTP(page.get_by_test_id("totp-secret").inner_text().strip())
    page.get_by_test_id("field-passcode").fill(totp.now())
    page.get_by_test_id("totp-confirm").click()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    recovery = codes.nth(0).inner_text().strip()
    screenshot("account-recovery-codes")
    collect()
    sign_out(page)

    # The code path: password, then a code computed here.
    sign_in_with_password(page, live_server)
    expect(page.get_by_test_id("totp-form")).to_be_visible()
    screenshot("login-totp-step")
    collect()
    page.get_by_test_id("field-totp-passcode").fill("12345x")
    page.get_by_test_id("totp-submit").click()
    expect(page.get_by_test_id("form-error")).to_have_text("Invalid or already used code")
    page.get_by_test_id("field-totp-passcode").fill(totp.at(time.time() + 30))
    page.get_by_test_id("totp-submit").click()
    expect(page.get_by_test_id("user-menu")).to_contain_text("Grace Hopper")
    sign_out(page)

    # The recovery path.
    sign_in_with_password(page, live_server)
    page.get_by_text("Lost your device? Use a recovery code").click()
    page.get_by_test_id("field-recovery-recovery_code").fill(recovery)
    page.get_by_test_id("recovery-submit").click()
    expect(page.get_by_test_id("user-menu")).to_contain_text("Grace Hopper")
    page.goto(f"{live_server}/account")
    expect(page.get_by_test_id("recovery-left")).to_contain_text("9 unused recovery codes")
    screenshot("account-totp-on")
    collect()
    assert violations == [], json.dumps(violations)
