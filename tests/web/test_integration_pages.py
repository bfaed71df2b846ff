"""The integration pages: list, add/edit/remove, matchers, values, alias URLs, recent deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import (
    Integration,
    IntegrationAlias,
    IntegrationExtractValue,
    IntegrationMatcher,
    ProjectUser,
)
from semaphore.services import integrations, keys
from semaphore.services.permissions import ProjectAccess
from tests import factories
from tests.web.helpers import Browser, csrf_token

HTMX = {"HX-Request": "true"}
SECRET = "hook-secret"


@pytest.fixture
def web(app):
    return Browser(app)


@pytest.fixture
def owner(app):
    return factories.user(username="owner")


@pytest.fixture
def project(owner):
    return factories.project(name="Apollo", members={owner: "owner"})


@pytest.fixture
def system(project):
    return ProjectAccess(project, None, "")


@pytest.fixture
def as_owner(web, owner, project):
    web.log_in(owner)
    return web


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Deploy site")


@pytest.fixture
def secret_key(system):
    return keys.create_key(
        system,
        {"name": "gh-secret", "type": "login_password", "login_password": {"password": SECRET}},
    )


def _html(response) -> str:
    return response.get_data(as_text=True)


def _delete(web, path: str):
    token = csrf_token(_html(web.get("/")))
    return web.delete(path, headers={"X-CSRFToken": token, **HTMX})


def _post_button(web, page: str, path: str):
    """A bare button's POST, with the CSRF token of the page it sits on."""
    return web.post(path, data={"csrf_token": csrf_token(_html(web.get(page)))})


def _one(model, **where):
    return db.session.scalars(select(model).filter_by(**where)).one_or_none()


def test_create_edit_and_delete_an_integration(as_owner, project, template, secret_key):
    base = f"/project/{project.id}/integrations"
    dashboard = _html(as_owner.get(f"/project/{project.id}/dashboard"))
    assert 'data-testid="nav-integrations"' in dashboard
    fields = {
        "name": "GitHub push",
        "template_id": str(template.id),
        "auth_method": "github",
        "auth_secret_id": "",
    }
    bad = as_owner.submit(f"{base}/new", fields)
    assert bad.status_code == 422 and "auth_secret_id is required" in _html(bad)
    assert _one(Integration, name="GitHub push") is None

    created = as_owner.submit(f"{base}/new", {**fields, "auth_secret_id": str(secret_key.id)})
    assert created.status_code == 303
    hook = _one(Integration, name="GitHub push")
    assert created.headers["Location"].endswith(f"{base}/{hook.id}")
    assert (hook.auth_method, hook.auth_secret_id, hook.searchable) == (
        "github",
        secret_key.id,
        False,
    )

    page = _html(as_owner.get(f"{base}/{hook.id}"))
    assert "gh-secret" in page and "Deploy site" in page and 'data-testid="no-deliveries"' in page

    edit = as_owner.get(f"{base}/{hook.id}/edit")
    assert edit.status_code == 200 and "GitHub push" in _html(edit)
    edited = as_owner.submit(
        f"{base}/{hook.id}/edit",
        {**fields, "name": "Push", "auth_method": "", "searchable": "y"},
    )
    assert edited.status_code == 303
    hook = db.session.get(Integration, hook.id)
    assert (hook.name, hook.auth_method, hook.searchable) == ("Push", "", True)
    assert "Push" in _html(as_owner.get(base))

    hook_id = hook.id
    assert _delete(as_owner, f"{base}/{hook_id}").status_code == 204
    assert db.session.get(Integration, hook_id) is None


def test_matchers_and_values_are_added_and_removed_on_the_integration_page(
    as_owner, project, system, template
):
    hook = integrations.create_integration(system, {"name": "hook", "template_id": template.id})
    page = f"/project/{project.id}/integrations/{hook.id}"
    matcher = {
        "name": "push only",
        "match_type": "header",
        "body_data_type": "json",
        "key": "X-GitHub-Event",
        "method": "equals",
        "value": "",
    }
    token = csrf_token(_html(as_owner.get(page)))
    bad = as_owner.post(f"{page}/matchers", data={"csrf_token": token, **matcher})
    assert bad.status_code == 422 and 'data-testid="error-value"' in _html(bad)
    assert _one(IntegrationMatcher, name="push only") is None

    added = as_owner.post(
        f"{page}/matchers", data={"csrf_token": token, **matcher, "value": "push"}
    )
    assert added.status_code == 303
    row = _one(IntegrationMatcher, name="push only")
    assert (row.match_type, row.body_data_type, row.value) == ("header", "", "push")
    shown = _html(as_owner.get(page))
    assert "header X-GitHub-Event equals &#34;push&#34;" in shown

    value = {
        "name": "branch",
        "value_source": "body",
        "body_data_type": "json",
        "key": "ref",
        "variable": "BRANCH",
        "variable_type": "environment",
    }
    added = as_owner.post(f"{page}/values", data={"csrf_token": token, **value})
    assert added.status_code == 303
    stored = _one(IntegrationExtractValue, name="branch")
    assert (stored.body_data_type, stored.key, stored.variable) == ("json", "ref", "BRANCH")

    assert _delete(as_owner, f"{page}/matchers/{row.id}").status_code == 204
    assert _delete(as_owner, f"{page}/values/{stored.id}").status_code == 204
    assert _one(IntegrationMatcher, name="push only") is None
    assert _one(IntegrationExtractValue, name="branch") is None


def test_alias_urls_are_shown_in_full_to_paste_into_the_sender(as_owner, project, system, template):
    hook = integrations.create_integration(system, {"name": "hook", "template_id": template.id})
    page = f"/project/{project.id}/integrations/{hook.id}"
    index = f"/project/{project.id}/integrations"
    assert _post_button(as_owner, page, f"{page}/aliases").status_code == 303
    assert _post_button(as_owner, index, f"{index}/aliases").status_code == 303
    own = _one(IntegrationAlias, integration_id=hook.id)
    shared = db.session.scalars(
        select(IntegrationAlias).where(IntegrationAlias.integration_id.is_(None))
    ).one()
    assert f'value="http://localhost:3000/api/integrations/{own.alias}"' in _html(
        as_owner.get(page)
    )
    assert f"/api/integrations/{shared.alias}" in _html(as_owner.get(index))
    assert _delete(as_owner, f"{page}/aliases/{own.id}").status_code == 204
    assert _delete(as_owner, f"{index}/aliases/{shared.id}").status_code == 204
    assert db.session.scalar(select(IntegrationAlias)) is None


def test_recent_deliveries_say_why_a_webhook_did_not_fire(
    as_owner, app, project, system, template, secret_key
):
    hook = integrations.create_integration(
        system,
        {
            "name": "hook",
            "template_id": template.id,
            "auth_method": "github",
            "auth_secret_id": secret_key.id,
        },
    )
    integrations.create_matcher(
        system,
        hook.id,
        {"name": "push", "match_type": "header", "key": "X-GitHub-Event", "value": "push"},
    )
    alias = integrations.create_alias(system, hook.id).alias
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    sender = app.test_client()
    url = f"/api/integrations/{alias}"
    sender.post(
        url, data=body, headers={"X-Hub-Signature-256": "sha256=00", "X-GitHub-Event": "push"}
    )
    sender.post(
        url, data=body, headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "ping"}
    )
    sender.post(
        url, data=body, headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "push"}
    )

    page = _html(as_owner.get(f"/project/{project.id}/integrations/{hook.id}"))
    assert "authentication failed: bad signature in X-Hub-Signature-256" in page
    assert (
        "matcher 1 (header X-GitHub-Event equals &#34;push&#34;) did not match: got &#39;ping&#39;"
        in page
    )
    assert 'data-testid="delivery-task"' in page and 'data-testid="outcome-started"' in page
    assert signature not in page and "(redacted, 71 characters)" in page
    partial = as_owner.get(f"/project/{project.id}/integrations/{hook.id}/deliveries", headers=HTMX)
    assert partial.status_code == 200 and 'id="deliveries"' in _html(partial)
    assert "<html" not in _html(partial)
    listing = _html(as_owner.get(f"/project/{project.id}/integrations"))
    assert listing.count('data-testid="delivery-outcome"') == 3


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_read_only_members_see_no_buttons_and_are_refused(web, project, system, template, role):
    hook = integrations.create_integration(system, {"name": "hook", "template_id": template.id})
    integrations.create_alias(system, hook.id)
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    web.log_in(member)
    base = f"/project/{project.id}/integrations"
    for path in (base, f"{base}/{hook.id}"):
        page = _html(web.get(path))
        assert "hook" in page
        for marker in ("new-integration", "edit-", "hx-delete", "add-alias", "matcher-form"):
            assert marker not in page, (path, marker)
    assert web.get(f"{base}/new").status_code == 403
    assert web.get(f"{base}/{hook.id}/edit").status_code == 403
    assert _post_button(web, base, f"{base}/{hook.id}/aliases").status_code == 403
    assert _post_button(web, base, f"{base}/aliases").status_code == 403
    token = csrf_token(_html(web.get(base)))
    refused = web.post(
        f"{base}/{hook.id}/matchers",
        data={"csrf_token": token, "name": "m", "match_type": "header", "key": "A", "value": "b"},
    )
    assert refused.status_code == 403
    assert _delete(web, f"{base}/{hook.id}").status_code == 403
    assert db.session.get(Integration, hook.id) is not None
    assert db.session.scalar(select(IntegrationMatcher)) is None


def test_non_members_get_404(web, project, system, template):
    hook = integrations.create_integration(system, {"name": "hook", "template_id": template.id})
    web.log_in(factories.user())
    base = f"/project/{project.id}/integrations"
    for path in (base, f"{base}/{hook.id}", f"{base}/{hook.id}/deliveries", f"{base}/new"):
        assert web.get(path).status_code == 404, path
