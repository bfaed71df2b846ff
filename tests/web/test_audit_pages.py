"""The audit trail page (/audit): administrators only; events recorded through the real
pages (a failed sign-in, a new token, a role change) listed with their actor and address;
filters by kind, actor and days, swapped by htmx; paged."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from semaphore.extensions import db
from semaphore.models import utcnow
from semaphore.services import audit
from tests import factories
from tests.web.helpers import Browser, csrf_token

HTMX = {"HX-Request": "true"}
ADDRESS = "192.0.2.44"
FROM = {"environ_base": {"REMOTE_ADDR": ADDRESS}}


def _rows(html: str) -> list[str]:
    """The kinds of the listed events, in order."""
    return re.findall(r'data-kind="([^"]+)"', html)


@pytest.fixture
def admin_web(app) -> Browser:
    browser = Browser(app)
    browser.log_in(factories.user(admin=True, username="root"))
    return browser


def test_events_made_through_the_pages_are_listed_with_actor_and_address(web, admin_web, owner):
    # A failed sign-in on the login page.
    failed = web.submit("/auth/login", {"auth": "intruder", "password": "guess"}, **FROM)
    assert failed.status_code == 422
    # A token made on the account page.
    web.log_in(owner)
    page = web.get("/account").get_data(as_text=True)
    made = web.post("/account/tokens", data={"csrf_token": csrf_token(page), "name": "ci"}, **FROM)
    assert made.status_code == 200
    # A role changed on the team page.
    mate = factories.user(username="mate")
    team = factories.project(name="Team", members={owner: "owner", mate: "guest"})
    page = web.get(f"/project/{team.id}/members").get_data(as_text=True)
    changed = web.post(
        f"/project/{team.id}/members/{mate.id}/role",
        data={"csrf_token": csrf_token(page), "role": "manager"},
        **FROM,
    )
    assert changed.status_code == 303, changed.get_data(as_text=True)

    html = admin_web.get("/audit").get_data(as_text=True)
    assert "intruder" in html and ADDRESS in html
    failed_row = admin_web.get("/audit?kind=login_failed").get_data(as_text=True)
    assert _rows(failed_row) == ["login_failed"]
    assert "intruder" in failed_row and ADDRESS in failed_row and "bad_password" in failed_row
    tokens = admin_web.get("/audit?kind=token_created&actor=owner").get_data(as_text=True)
    assert _rows(tokens).count("token_created") >= 1 and ADDRESS in tokens
    role = admin_web.get("/audit?kind=member_role_changed").get_data(as_text=True)
    assert _rows(role) == ["member_role_changed"]
    assert "owner" in role and "user mate" in role and ADDRESS in role
    assert "role: manager" in role and "previous_role: guest" in role


def _add(kind: str, login: str, days_ago: float = 0) -> None:
    row = audit.record(kind, None, actor_login=login, address="198.51.100.1")
    row.created = utcnow() - timedelta(days=days_ago)
    db.session.commit()


def test_filters_work_and_htmx_gets_the_partial(admin_web):
    _add("login_failed", "mallet", days_ago=9)
    _add("login_failed", "mallory", days_ago=2)
    _add("logout", "mallory", days_ago=2)
    today = utcnow().date()

    by_kind = admin_web.get("/audit?kind=logout").get_data(as_text=True)
    assert _rows(by_kind) == ["logout"]
    assert '<option value="logout" selected>' in by_kind  # the form shows the filter
    by_actor = admin_web.get("/audit?actor=MALLO").get_data(as_text=True)
    assert _rows(by_actor) == ["logout", "login_failed"]
    week = str(today - timedelta(days=7))
    recent = admin_web.get(f"/audit?kind=login_failed&since={week}").get_data(as_text=True)
    assert _rows(recent) == ["login_failed"] and "mallory" in recent and "mallet" not in recent
    old = admin_web.get(f"/audit?kind=login_failed&until={week}").get_data(as_text=True)
    assert "mallet" in old and "mallory" not in old

    swapped = admin_web.get("/audit?kind=logout", headers=HTMX)
    body = swapped.get_data(as_text=True)
    assert swapped.status_code == 200 and "HX-Request" in swapped.headers["Vary"]
    assert "<html" not in body
    assert 'id="audit-trail"' in body and _rows(body) == ["logout"]
    nothing = admin_web.get("/audit?actor=nobody-at-all").get_data(as_text=True)
    assert _rows(nothing) == [] and "No audit events match these filters." in nothing


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=bogus", "kind"),
        ("since=31/12/2026", "since"),
        ("until=2026-02-30", "until"),
        ("since=2026-05-02&until=2026-05-01", "since"),
        ("page=x", "page"),
    ],
)
def test_a_bad_filter_is_422_with_the_message_at_its_field(admin_web, query, field):
    response = admin_web.get(f"/audit?{query}", headers=HTMX)
    assert response.status_code == 422
    assert f'data-testid="error-{field}"' in response.get_data(as_text=True)


def test_pages_of_fifty_newest_first(admin_web):
    for n in range(55):
        _add("login_failed", f"guess{n:02d}", days_ago=(55 - n) / 100)
    first = admin_web.get("/audit?kind=login_failed").get_data(as_text=True)
    assert _rows(first) == ["login_failed"] * 50
    assert "guess54" in first and "guess04" not in first
    assert "Page 1 of 2" in first and "page=2" in first and "kind=login_failed" in first
    second = admin_web.get("/audit?kind=login_failed&page=2", headers=HTMX).get_data(as_text=True)
    assert _rows(second) == ["login_failed"] * 5 and "guess00" in second
    assert "Page 2 of 2" in second


def test_the_sidebar_links_the_page_for_admins_only(admin_web, web, owner):
    assert 'data-testid="nav-audit"' in admin_web.get("/audit").get_data(as_text=True)
    web.log_in(owner)
    assert 'data-testid="nav-audit"' not in web.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["owner", "manager", "task_runner", "guest", None])
def test_non_admins_get_403(web, project, role):
    user = factories.user()
    if role:
        factories.project(members={user: role})
    web.log_in(user)
    assert web.get("/audit").status_code == 403
    assert web.get("/audit?kind=bogus").status_code == 403
    assert web.get("/audit", headers=HTMX).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(web):
    response = web.get("/audit")
    assert response.status_code in (302, 303)
    assert "/auth/login" in response.headers["Location"]
