"""The account page (two-factor enrolment, recovery codes, sessions, API tokens), the login's
two-factor step, and an admin's reset on the user page."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from semaphore.extensions import db
from semaphore.models import APIToken, UserTotp
from tests import factories
from tests.web.helpers import Browser, csrf_token

SECRET_RE = re.compile(r'data-testid="totp-secret">([A-Z2-7]+)<')
CODES_RE = re.compile(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>")


def page(response) -> str:
    return response.get_data(as_text=True)


def post_on(web: Browser, page_path: str, action: str, data: dict | None = None):
    token = csrf_token(page(web.get(page_path)))
    return web.post(action, data={"csrf_token": token, **(data or {})})


def enrol(web: Browser) -> tuple[pyotp.TOTP, list[str]]:
    begun = post_on(web, "/account", "/account/2fa/begin")
    # Post/redirect/get: the pending enrolment is shown by a page a reload can ask for again.
    assert begun.status_code == 303 and begun.headers["Location"].endswith("/account/2fa/confirm")
    html = page(web.get("/account/2fa/confirm"))
    assert 'data-testid="totp-qr"><svg' in html
    totp = pyotp.TOTP(SECRET_RE.search(html).group(1))
    confirmed = post_on(web, "/account", "/account/2fa/confirm", {"passcode": totp.now()})
    assert confirmed.status_code == 200
    codes = CODES_RE.findall(page(confirmed))
    assert len(codes) == 10
    return totp, codes


@pytest.fixture
def member(app):
    return factories.user(username="mia", name="Mia Member")


def test_enrolment_on_the_account_page(app, web, member):
    web.log_in(member)
    assert 'data-testid="totp-off"' in page(web.get("/account"))
    _totp, codes = enrol(web)
    shown_again = page(web.get("/account"))
    assert 'data-testid="totp-on"' in shown_again
    assert codes[0] not in shown_again  # recovery codes are shown once


def test_a_wrong_first_code_keeps_the_enrolment_open(app, web, member):
    web.log_in(member)
    post_on(web, "/account", "/account/2fa/begin")
    refused = post_on(web, "/account", "/account/2fa/confirm", {"passcode": "12"})
    assert refused.status_code == 422
    html = page(refused)
    assert "Invalid or already used code" in html and 'data-testid="totp-qr"' in html
    assert db.session.query(UserTotp).one().confirmed is False


def test_login_asks_for_the_code(app, web, member):
    web.log_in(member)
    totp, codes = enrol(web)
    web.post("/auth/logout", data={"csrf_token": csrf_token(page(web.get("/account")))})

    fresh = Browser(app)
    answer = fresh.submit(
        "/auth/login?next=/account", {"auth": "mia", "password": factories.DEFAULT_PASSWORD}
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/auth/verify")
    # Half-way in, no page opens.
    assert fresh.get("/account").status_code == 302
    verify = page(fresh.get("/auth/verify?next=/account"))
    assert 'data-testid="totp-form"' in verify and 'data-testid="recovery-form"' in verify

    wrong = fresh.submit(
        "/auth/verify?next=/account", {"totp-passcode": "12345x", "totp-submit": "1"}
    )
    assert wrong.status_code == 422
    assert "Invalid or already used code" in page(wrong)
    right = fresh.submit(
        "/auth/verify?next=/account",
        {"totp-passcode": totp.at(time.time() + 30), "totp-submit": "1"},
    )
    assert right.status_code == 303 and right.headers["Location"] == "/account"
    assert fresh.get("/account").status_code == 200
    assert codes  # unused here; the recovery path has its own test


def test_login_with_a_recovery_code_on_the_page(app, web, member):
    web.log_in(member)
    _totp, codes = enrol(web)
    fresh = Browser(app)
    fresh.submit("/auth/login", {"auth": "mia", "password": factories.DEFAULT_PASSWORD})
    used = fresh.submit(
        "/auth/verify", {"recovery-recovery_code": codes[3], "recovery-submit": "1"}
    )
    assert used.status_code == 303
    assert fresh.get("/").status_code == 200

    again = Browser(app)
    again.submit("/auth/login", {"auth": "mia", "password": factories.DEFAULT_PASSWORD})
    refused = again.submit(
        "/auth/verify", {"recovery-recovery_code": codes[3], "recovery-submit": "1"}
    )
    assert refused.status_code == 422
    assert "Invalid or already used code" in page(refused)


def test_verify_page_without_a_pending_login_goes_to_login(app, web):
    response = web.get("/auth/verify")
    assert response.status_code == 303 and response.headers["Location"].startswith("/auth/login")


def test_sessions_on_the_account_page(app, member):
    laptop, phone = Browser(app), Browser(app)
    laptop.log_in(member)
    phone.log_in(member)
    html = page(phone.get("/account"))
    assert html.count('data-testid="session-') == 2 and "This browser" in html
    ended = post_on(phone, "/account", "/account/sessions/revoke-others")
    assert ended.status_code == 303
    assert "Signed out 1 other session" in page(phone.get("/account"))
    assert laptop.get("/account").status_code == 302


def test_tokens_on_the_account_page(app, web, member):
    web.log_in(member)
    made = post_on(web, "/account", "/account/tokens", {"name": "deploy", "expires_in_days": "30"})
    assert made.status_code == 200
    raw = re.search(r'value="([^"]+)" id="new-token"', page(made)).group(1)
    row = db.session.query(APIToken).one()
    assert row.name == "deploy" and row.expires is not None
    listing = page(web.get("/account"))
    assert raw not in listing and f'data-testid="token-{row.id}"' in listing

    bad = post_on(web, "/account", "/account/tokens", {"name": "x", "expires_in_days": "abc"})
    assert bad.status_code == 422 and "expires_in_days" in page(bad)
    assert db.session.query(APIToken).count() == 1

    revoked = post_on(web, "/account", f"/account/tokens/{row.id}/revoke")
    assert revoked.status_code == 303
    db.session.refresh(row)
    assert row.expired is True


def test_an_admin_resets_two_factor_from_the_user_page(app, web, member):
    web.log_in(member)
    enrol(web)
    admin = factories.user(admin=True, username="root")
    as_admin = Browser(app)
    as_admin.log_in(admin)
    edit = page(as_admin.get(f"/users/{member.id}/edit"))
    assert 'data-testid="totp-reset"' in edit
    reset = post_on(as_admin, f"/users/{member.id}/edit", f"/users/{member.id}/2fa/reset")
    assert reset.status_code == 303
    assert db.session.query(UserTotp).count() == 0
    # A non-admin cannot do it (their own page does not even offer it).
    other = factories.user(username="otto")
    as_other = Browser(app)
    as_other.log_in(other)
    assert post_on(as_other, "/account", f"/users/{member.id}/2fa/reset").status_code == 403
