"""The runner pages: the admins' global runners (/runners) and a project's own
(/project/<id>/runners), over the same service functions as /api/runners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Event, ProjectUser, Runner, Task, Template, utcnow
from semaphore.security.tokens import digest
from tests import factories
from tests.web.helpers import Browser, csrf_token

HTMX = {"HX-Request": "true"}
ROLES = ("owner", "manager", "task_runner", "guest")


def _html(response) -> str:
    return response.get_data(as_text=True)


def runner(name: str, project=None, **fields) -> Runner:
    """A registered runner (token "token-<name>"), inactive and never seen unless told."""
    fields.setdefault("token_hash", digest(f"token-{name}"))
    row = Runner(name=name, project_id=project.id if project else None, **fields)
    db.session.add(row)
    db.session.commit()
    return row


def _stored(runner_id: int) -> Runner | None:
    db.session.expire_all()
    return db.session.get(Runner, runner_id)


def _send(web, method: str, path: str, data: dict | None = None):
    """What the page's htmx buttons send: the CSRF header from the page, HX-Request."""
    token = csrf_token(_html(web.get("/")))
    return getattr(web, method)(path, data=data, headers={"X-CSRFToken": token, **HTMX})


@pytest.fixture
def as_admin(web, admin):
    web.log_in(admin)
    return web


# --- the admins' global runners ----------------------------------------------------------------


def test_admin_page_lists_global_runners_online_and_offline(as_admin, project, config):
    now = utcnow()
    fresh = runner("edge", active=True, touched=now, tags=["linux", "dmz"], max_parallel_tasks=3)
    runner("stale", active=True, touched=now - timedelta(seconds=config.runner_timeout + 5))
    runner("idle", active=False, touched=now)
    runner("own", project=project, active=True, touched=now)
    template = factories.template(project=project)
    db.session.add(
        Task(project_id=project.id, template_id=template.id, status="running", runner_id=fresh.id)
    )
    db.session.commit()

    response = as_admin.get("/runners")
    assert response.status_code == 200
    page = _html(response)
    assert 'data-testid="nav-admin-runners"\n' in page and 'aria-current="page">Runners' in page
    rows = {name: _row(page, name) for name in ("edge", "stale", "idle")}
    assert 'data-testid="runner-state">online' in rows["edge"]
    assert "linux" in rows["edge"] and "dmz" in rows["edge"]
    assert 'data-testid="runner-running">1<' in rows["edge"] and ">3<" in rows["edge"]
    assert "seen 0 s ago" in rows["edge"] or "seen 1 s ago" in rows["edge"]
    # Active but silent for longer than runner_timeout, or switched off: offline.
    assert 'data-testid="runner-state">offline' in rows["stale"]
    assert 'data-testid="runner-state">offline' in rows["idle"]
    assert 'aria-checked="false"' in rows["idle"]
    # A project's runner is not a global one.
    assert 'runner-row-own"' not in page


def _row(page: str, name: str) -> str:
    start = page.index(f'data-testid="runner-row-{name}"')
    return page[start : page.index("</tr>", start)]


@pytest.mark.parametrize("path", ["/runners", "/runners/new"])
def test_non_admins_get_403(web, project, owner, path):
    web.log_in(owner)
    assert web.get(path).status_code == 403
    assert "nav-admin-runners" not in _html(web.get("/"))


def test_creating_a_runner_shows_its_token_once(as_admin, app):
    response = as_admin.submit(
        "/runners/new",
        {
            "name": "dmz runner",
            "tags": "linux, dmz  arm",
            "max_parallel_tasks": "2",
            "webhook": "https://hooks.example.com/runner",
            "active": "y",
            "registered": "y",
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["HX-Push-Url"] == "/runners"
    page = _html(response)
    created = db.session.scalars(select(Runner)).one()
    token = _shown_token(page)
    assert created.token_hash == digest(token) and token not in (created.token_hash or "")
    assert (created.name, created.tags, created.max_parallel_tasks) == (
        "dmz runner",
        ["linux", "dmz", "arm"],
        2,
    )
    assert created.active and created.webhook == "https://hooks.example.com/runner"
    assert f"SEMAPHORE_RUNNER_TOKEN={token} semaphore runner start" in page
    assert 'data-testid="copy-token"' in page and '"token": "' in page
    # Never again: not in the list, not in the edit form.
    for path in ("/runners", f"/runners/{created.id}/edit"):
        assert token not in _html(as_admin.get(path)), path


def _shown_token(page: str) -> str:
    marker = 'value="'
    start = page.index(marker, page.index('id="runner-token"')) + len(marker)
    return page[start : page.index('"', start)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("webhook", "ftp://nope", "Webhook must be an http or https URL"),
        ("max_parallel_tasks", "-1", "Max parallel tasks must be at least 0"),
        ("max_parallel_tasks", "many", "Max parallel tasks must be an integer"),
        ("tags", "ok " + "a" * 65, "Tags must hold tags of at most 64 characters"),
    ],
)
def test_the_services_message_comes_back_at_its_field(as_admin, field, value, message):
    response = as_admin.submit("/runners/new", {"name": "x", "registered": "y", field: value})
    assert response.status_code == 422
    assert f'data-testid="error-{field}">{message}<' in _html(response)
    assert db.session.scalars(select(Runner)).first() is None


def test_an_unregistered_runner_gets_a_registration_token_once(as_admin):
    added = as_admin.submit("/runners/new", {"name": "later", "active": "y"})
    assert added.status_code == 303
    created = db.session.scalars(select(Runner)).one()
    assert created.token_hash is None and not created.active
    page = _html(as_admin.get("/runners"))
    assert 'data-testid="runner-unregistered"' in page
    assert 'data-testid="registration-token-later"' in page

    response = as_admin.post(
        f"/runners/{created.id}/registration-token", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    shown = _html(response)
    token = _shown_token(shown)
    assert _stored(created.id).registration_token_hash == digest(token)
    assert "semaphore runner register --stdin-registration-token" in shown
    assert f"echo '{token}' |" in shown
    assert token not in _html(as_admin.get("/runners"))


def test_a_registered_runner_gets_no_registration_token(as_admin):
    edge = runner("edge")
    page = _html(as_admin.get("/runners"))
    assert 'data-testid="registration-token-edge"' not in page
    refused = as_admin.post(
        f"/runners/{edge.id}/registration-token", data={"csrf_token": csrf_token(page)}
    )
    assert refused.status_code == 303
    assert "Runner is already registered" in _html(as_admin.get("/runners"))


def test_the_switch_swaps_its_row(as_admin):
    edge = runner("edge", active=False, tags=["linux"])
    response = _send(as_admin, "post", f"/runners/{edge.id}/active", {"active": "true"})
    assert response.status_code == 200
    row = _html(response)
    assert row.lstrip().startswith("<tr") and "<html" not in row
    assert 'aria-checked="true"' in row and 'name="active" value="false"' in row
    assert _stored(edge.id).active is True
    _send(as_admin, "post", f"/runners/{edge.id}/active", {"active": "false"})
    assert _stored(edge.id).active is False
    descriptions = db.session.scalars(
        select(Event.description).where(Event.object_type == "runner").order_by(Event.id)
    ).all()
    assert descriptions == ["Runner edge activated", "Runner edge deactivated"]


def test_the_switch_without_javascript_goes_back_to_the_list(as_admin):
    edge = runner("edge", active=False)
    token = csrf_token(_html(as_admin.get("/runners")))
    response = as_admin.post(
        f"/runners/{edge.id}/active", data={"csrf_token": token, "active": "true"}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/runners")
    assert _stored(edge.id).active is True


def test_editing_keeps_the_token_and_what_the_form_does_not_show(as_admin):
    edge = runner("edge", active=True, is_default=True, tags=["linux"])
    form = _html(as_admin.get(f"/runners/{edge.id}/edit"))
    assert 'value="linux"' in form and 'name="registered"' not in form
    saved = as_admin.submit(
        f"/runners/{edge.id}/edit",
        {"name": "edge-2", "tags": "arm", "max_parallel_tasks": "0", "webhook": ""},
    )
    assert saved.status_code == 303
    stored = _stored(edge.id)
    assert (stored.name, stored.tags, stored.active, stored.is_default) == (
        "edge-2",
        ["arm"],
        False,
        True,
    )
    assert stored.token_hash == digest("token-edge")


def test_deleting_a_runner(as_admin):
    edge_id = runner("edge").id
    page = _html(as_admin.get("/runners"))
    assert f'hx-delete="/runners/{edge_id}"' in page and "hx-confirm=" in page
    response = _send(as_admin, "delete", f"/runners/{edge_id}")
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/runners"
    assert _stored(edge_id) is None
    assert "Runner edge removed" in _html(as_admin.get("/runners"))


def test_a_global_runner_is_not_found_through_a_project(as_admin, admin, project):
    edge = runner("edge")
    db.session.add(ProjectUser(project_id=project.id, user_id=admin.id, role="owner"))
    db.session.commit()
    assert as_admin.get(f"/project/{project.id}/runners/{edge.id}/edit").status_code == 404
    assert _send(as_admin, "delete", f"/project/{project.id}/runners/{edge.id}").status_code == 404
    assert _stored(edge.id) is not None


# --- a project's runners -------------------------------------------------------------------------


def _member(project, role: str):
    user = factories.user(username=f"{role}-user")
    db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=role))
    db.session.commit()
    return user


@pytest.mark.parametrize("role", ROLES)
def test_project_page_for_each_role(web, project, role):
    own = runner("own", project=project, active=True)
    runner("global-tagged", tags=["dmz"], webhook="https://secret.example.com/hook")
    runner("global-untagged")
    other = factories.project(name="Other")
    runner("elsewhere", project=other)
    web.log_in(_member(project, role))
    base = f"/project/{project.id}/runners"

    page = _html(web.get(base))
    assert 'data-testid="nav-runners"' in page
    assert 'data-testid="runner-row-own"' in page
    serving = page[page.index('data-testid="global-runners-table"') :]
    assert 'data-testid="runner-row-global-tagged"' in serving
    assert "global-untagged" not in page and "elsewhere" not in page
    assert "secret.example.com" not in page
    # The global runners are read-only here, whoever asks.
    assert "toggle-runner-global-tagged" not in serving and "edit-runner-global" not in serving

    manages = role in ("owner", "manager")
    assert ('data-testid="new-runner"' in page) is manages
    assert ('data-testid="toggle-runner-own"' in page) is manages
    assert ('data-testid="edit-runner-own"' in page) is manages
    assert ("hx-delete" in page) is manages
    expected = 200 if manages else 403
    assert web.get(f"{base}/new").status_code == expected
    assert web.get(f"{base}/{own.id}/edit").status_code == expected
    switched = _send(web, "post", f"{base}/{own.id}/active", {"active": "false"})
    assert switched.status_code == expected
    assert _stored(own.id).active is not manages


@pytest.mark.parametrize("role", ["task_runner", "guest"])
def test_read_only_members_cannot_add_or_delete(web, project, role):
    own = runner("own", project=project)
    web.log_in(_member(project, role))
    base = f"/project/{project.id}/runners"
    token = csrf_token(_html(web.get(base)))
    added = web.post(f"{base}/new", data={"csrf_token": token, "name": "mine", "registered": "y"})
    assert added.status_code == 403
    assert _send(web, "delete", f"{base}/{own.id}").status_code == 403
    assert [row.name for row in db.session.scalars(select(Runner))] == ["own"]


def test_a_manager_adds_and_deletes_a_project_runner(web, project):
    web.log_in(_member(project, "manager"))
    base = f"/project/{project.id}/runners"
    response = web.submit(f"{base}/new", {"name": "mine", "tags": "dmz", "registered": "y"})
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == base
    created = db.session.scalars(select(Runner)).one()
    assert created.project_id == project.id and created.token_hash == digest(
        _shown_token(_html(response))
    )
    assert 'data-testid="project-name"' in _html(response)
    created_id = created.id
    assert _send(web, "delete", f"{base}/{created_id}").status_code == 204
    assert _stored(created_id) is None


def test_non_members_get_404(web, project):
    own = runner("own", project=project)
    web.log_in(factories.user())
    base = f"/project/{project.id}/runners"
    for path in (base, f"{base}/new", f"{base}/{own.id}/edit"):
        assert web.get(path).status_code == 404, path


# --- the task page, the history and the template form ------------------------------------------


def _task(template, status: str = "waiting", **fields) -> Task:
    task = Task(project_id=template.project_id, template_id=template.id, status=status, **fields)
    db.session.add(task)
    db.session.commit()
    return task


def test_the_task_page_names_its_runner(app, web, admin, owner, project):
    own = runner("edge", project=project, active=True, touched=utcnow())
    shared = runner("shared", active=True, touched=utcnow())  # global, no tags
    template = factories.template(project=project, name="Deploy")
    on_own = _task(template, "running", runner_id=own.id, start=utcnow())
    on_shared = _task(template, "success", runner_id=shared.id, start=utcnow(), end=utcnow())
    base = f"/project/{project.id}/tasks"
    web.log_in(owner)

    shown = _html(web.get(f"{base}/{on_own.id}"))
    assert f'<a href="/project/{project.id}/runners/{own.id}/edit">edge</a>' in shown
    assert 'data-testid="task-waiting-reason"' not in shown
    # A global runner the project's list leaves out is named by its id only...
    assert f"Runner #{shared.id}" in _html(web.get(f"{base}/{on_shared.id}"))
    # ...and an admin sees its name, with a link to it.
    db.session.add(ProjectUser(project_id=project.id, user_id=admin.id, role="guest"))
    db.session.commit()
    as_admin = Browser(app)
    as_admin.log_in(admin)
    assert f'<a href="/runners/{shared.id}/edit">shared</a>' in _html(
        as_admin.get(f"{base}/{on_shared.id}")
    )


def test_a_waiting_task_says_why_it_waits(web, owner, project):
    template = factories.template(project=project, name="Deploy", runner_tag="dmz")
    runner("linux-only", tags=["linux"], active=True, touched=utcnow())
    task = _task(template)
    web.log_in(owner)
    reason = "no active runner with tag `dmz`"

    page = _html(web.get(f"/project/{project.id}/tasks/{task.id}"))
    assert f'data-testid="task-waiting-reason">Waits: {reason}<' in page
    assert 'data-testid="task-runner"><span class="muted">none yet</span>' in page
    # The part the page's script reloads when the status changes says it too.
    state = _html(web.get(f"/project/{project.id}/tasks/{task.id}/state", headers=HTMX))
    assert f"Waits: {reason}" in state
    # The history: one muted line under the status, also in its self-refreshing partial.
    for headers in ({}, HTMX):
        history = _html(web.get(f"/project/{project.id}/history", headers=headers))
        assert f'data-testid="task-waiting-reason-{task.id}">{reason}<' in history
    template_page = _html(web.get(f"/project/{project.id}/templates/{template.id}"))
    assert f"task-waiting-reason-{task.id}" in template_page
    assert 'data-testid="template-runner-tag">dmz<' in template_page

    runner("dmz-1", tags=["dmz"], active=True, touched=utcnow())
    page = _html(web.get(f"/project/{project.id}/tasks/{task.id}"))
    assert "task-waiting-reason" not in page


def _template_fields(template, **fields) -> dict:
    return {
        "name": template.name,
        "app": template.app,
        "type": "",
        "playbook": template.playbook,
        "repository_id": str(template.repository_id),
        "inventory_id": str(template.inventory_id),
        **fields,
    }


def test_the_template_form_saves_a_runner_tag_by_the_apis_rule(web, owner, project):
    template = factories.template(project=project, name="Deploy")
    edit = f"/project/{project.id}/templates/{template.id}/edit"
    web.log_in(owner)
    assert 'data-testid="field-runner_tag"' in _html(web.get(edit))

    refused = web.submit(edit, _template_fields(template, runner_tag="two words"))
    assert refused.status_code == 422
    assert (
        'data-testid="error-runner_tag">Runner tag must hold tags without spaces or commas<'
        in _html(refused)
    )
    db.session.expire_all()
    assert db.session.get(Template, template.id).runner_tag is None

    saved = web.submit(edit, _template_fields(template, runner_tag=" dmz "))
    assert saved.status_code == 303
    db.session.expire_all()
    assert db.session.get(Template, template.id).runner_tag == "dmz"
    assert 'value="dmz"' in _html(web.get(edit))
    cleared = web.submit(edit, _template_fields(template, runner_tag=""))
    assert cleared.status_code == 303
    db.session.expire_all()
    assert db.session.get(Template, template.id).runner_tag is None
