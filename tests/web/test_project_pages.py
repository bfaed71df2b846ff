"""The project pages: settings, team, activity, and the list/form/delete pages of every resource."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import (
    AccessKey,
    Environment,
    Inventory,
    Project,
    ProjectUser,
    Repository,
    Runner,
    Schedule,
    Template,
    TemplateVault,
    View,
)
from tests import factories
from tests.web.helpers import csrf_token

HTMX = {"HX-Request": "true"}


@pytest.fixture
def as_owner(web, owner, project):
    web.log_in(owner)
    return web


def _html(response) -> str:
    return response.get_data(as_text=True)


def _delete(web, path: str):
    """An hx-delete as the page's button sends it: CSRF header from the page, HX-Request."""
    token = csrf_token(_html(web.get("/")))
    return web.delete(path, headers={"X-CSRFToken": token, **HTMX})


def _private_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def _one(model, **where):
    return db.session.scalars(select(model).filter_by(**where)).one_or_none()


def _everything(project):
    """One object of each kind that has list, form and delete pages in the project; returns
    (id, name) by the kind's part of the URL."""
    key = factories.key(project=project, name="deploy-key")
    repo = factories.repository(project=project, name="site-repo", ssh_key_id=key.id)
    inventory = factories.inventory(project=project, name="prod-hosts")
    environment = factories.environment(project=project, name="prod-env")
    view = factories.view(project=project, title="Deploys")
    template = factories.template(
        project=project,
        name="Deploy site",
        repository_id=repo.id,
        inventory_id=inventory.id,
        environment_id=environment.id,
        view_id=view.id,
    )
    schedule = factories.schedule(project=project, name="nightly", template_id=template.id)
    runner = Runner(project_id=project.id, name="build-box")
    db.session.add(runner)
    db.session.commit()
    return {
        "keys": (key.id, "deploy-key"),
        "repositories": (repo.id, "site-repo"),
        "inventory": (inventory.id, "prod-hosts"),
        "environment": (environment.id, "prod-env"),
        "views": (view.id, "Deploys"),
        "templates": (template.id, "Deploy site"),
        "schedules": (schedule.id, "nightly"),
        "runners": (runner.id, "build-box"),
    }


# --- navigation, creating a project ------------------------------------------------------------


def test_every_project_page_renders_for_an_owner(as_owner, project):
    objects = _everything(project)
    base = f"/project/{project.id}"
    for kind, (object_id, name) in objects.items():
        listing = as_owner.get(f"{base}/{kind}")
        assert listing.status_code == 200, kind
        page = _html(listing)
        assert name in page, kind
        assert 'data-testid="project-nav"' in page and "Apollo" in page
        assert 'data-testid="new-' in page and "edit-" in page and "hx-delete" in page
        assert as_owner.get(f"{base}/{kind}/new").status_code == 200, kind
        edit = as_owner.get(f"{base}/{kind}/{object_id}/edit")
        assert edit.status_code == 200, kind
        assert name in _html(edit), kind
    for page in ("settings", "members", "activity"):
        assert as_owner.get(f"{base}/{page}").status_code == 200, page
    home = as_owner.get(base)
    assert home.status_code == 302 and home.headers["Location"].endswith(f"{base}/dashboard")


def test_dashboard_links_to_projects_and_offers_new_project_to_admins(web, app):
    admin = factories.user(admin=True)
    factories.project(name="Gemini", members={admin: "owner"})
    web.log_in(admin)
    page = _html(web.get("/"))
    assert 'data-testid="new-project"' in page and "/project/" in page


def test_admin_creates_a_project(web, app):
    admin = factories.user(admin=True)
    web.log_in(admin)
    bad = web.submit("/projects/new", {"name": "  "})
    assert bad.status_code == 422 and 'data-testid="error-name"' in _html(bad)
    assert db.session.scalar(select(Project)) is None
    response = web.submit("/projects/new", {"name": "Skylab"})
    assert response.status_code == 303
    project = _one(Project, name="Skylab")
    assert response.headers["Location"] == f"/project/{project.id}"
    assert _one(ProjectUser, project_id=project.id).role == "owner"
    assert _one(AccessKey, project_id=project.id).name == "None"


def test_users_without_the_right_cannot_create_projects(web, app):
    web.log_in(factories.user())
    assert 'data-testid="new-project"' not in _html(web.get("/"))
    assert web.get("/projects/new").status_code == 403


# --- settings ----------------------------------------------------------------------------------


def test_owner_changes_settings_and_sees_errors_at_the_field(as_owner, project):
    path = f"/project/{project.id}/settings"
    bad = as_owner.submit(path, {"name": "Apollo", "max_parallel_tasks": "-2"})
    assert bad.status_code == 422
    assert 'data-testid="error-max_parallel_tasks"' in _html(bad)
    assert "Max parallel tasks must be at least 0" in _html(bad)
    response = as_owner.submit(
        path,
        {"name": "Apollo 11", "alert": "y", "alert_chat": "-100123", "max_parallel_tasks": "3"},
    )
    assert response.status_code == 303
    saved = db.session.get(Project, project.id)
    assert (saved.name, saved.alert, saved.alert_chat, saved.max_parallel_tasks) == (
        "Apollo 11",
        True,
        "-100123",
        3,
    )


def test_owner_deletes_the_project(as_owner, project):
    project_id = project.id
    response = _delete(as_owner, f"/project/{project_id}")
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/"
    assert db.session.get(Project, project_id) is None


# --- team --------------------------------------------------------------------------------------


def test_owner_adds_changes_and_removes_members(as_owner, project, owner):
    path = f"/project/{project.id}/members"
    newcomer = factories.user(username="newcomer")
    page = _html(as_owner.get(path))
    assert "newcomer" in page and 'data-testid="member-form"' in page
    assert as_owner.submit(path, {"user_id": str(newcomer.id), "role": "guest"}).status_code == 303
    assert _one(ProjectUser, project_id=project.id, user_id=newcomer.id).role == "guest"

    again = as_owner.submit(path, {"user_id": str(newcomer.id), "role": "guest"})
    assert again.status_code == 422 and "already a member" in _html(again)

    token = csrf_token(page)
    role_path = f"{path}/{newcomer.id}/role"
    response = as_owner.post(role_path, data={"csrf_token": token, "role": "manager"})
    assert response.status_code == 303
    assert _one(ProjectUser, project_id=project.id, user_id=newcomer.id).role == "manager"

    own = as_owner.post(f"{path}/{owner.id}/role", data={"csrf_token": token, "role": "guest"})
    assert own.status_code == 422
    assert 'data-testid="error-role-owner"' in _html(own)
    assert _one(ProjectUser, project_id=project.id, user_id=owner.id).role == "owner"

    assert _delete(as_owner, f"{path}/{newcomer.id}").status_code == 204
    assert _one(ProjectUser, project_id=project.id, user_id=newcomer.id) is None


def test_a_member_leaves_the_project(web, project):
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role="task_runner"))
    db.session.commit()
    web.log_in(member)
    assert 'data-testid="leave-project"' in _html(web.get(f"/project/{project.id}/members"))
    response = _delete(web, f"/project/{project.id}/members/me")
    assert response.headers["HX-Redirect"] == "/"
    assert _one(ProjectUser, project_id=project.id, user_id=member.id) is None


def test_activity_lists_the_projects_events(as_owner, project):
    as_owner.submit(f"/project/{project.id}/keys/new", {"name": "audit-me", "type": "none"})
    page = _html(as_owner.get(f"/project/{project.id}/activity"))
    assert "Access Key audit-me created" in page and "owner" in page


# --- keys --------------------------------------------------------------------------------------


def test_keys_create_edit_and_delete(as_owner, project):
    base = f"/project/{project.id}/keys"
    bad = as_owner.submit(
        f"{base}/new", {"name": "ssh", "type": "ssh", "ssh_private_key": "not a key"}
    )
    assert bad.status_code == 422
    assert 'data-testid="error-ssh_private_key"' in _html(bad)
    assert "not a valid private key" in _html(bad)
    assert _one(AccessKey, name="ssh") is None

    private_key = _private_key()
    response = as_owner.submit(
        f"{base}/new",
        {"name": "ssh", "type": "ssh", "ssh_login": "deploy", "ssh_private_key": private_key},
    )
    assert response.status_code == 303
    key = _one(AccessKey, name="ssh")
    assert key.type == "ssh" and key.secret and "PRIVATE KEY" not in key.secret
    assert "PRIVATE KEY" not in _html(as_owner.get(f"{base}/{key.id}/edit"))

    renamed = as_owner.submit(f"{base}/{key.id}/edit", {"name": "ssh-renamed", "type": "none"})
    assert renamed.status_code == 303
    key = db.session.get(AccessKey, key.id)
    assert key.name == "ssh-renamed" and key.type == "ssh"  # no override: the secret stays

    overridden = as_owner.submit(
        f"{base}/{key.id}/edit",
        {
            "name": "pw",
            "override_secret": "y",
            "type": "login_password",
            "login_password_password": "s3cret",
        },
    )
    assert overridden.status_code == 303
    assert db.session.get(AccessKey, key.id).type == "login_password"

    key_id = key.id
    assert _delete(as_owner, f"{base}/{key_id}").status_code == 204
    assert db.session.get(AccessKey, key_id) is None


def test_deleting_a_key_in_use_keeps_it_and_links_what_uses_it(as_owner, project):
    key = factories.key(project=project, name="busy")
    repository = factories.repository(project=project, name="infra", ssh_key_id=key.id)
    inventory = factories.inventory(project=project, name="hosts", become_key_id=key.id)
    response = _delete(as_owner, f"/project/{project.id}/keys/{key.id}")
    assert response.status_code == 204
    assert db.session.get(AccessKey, key.id) is not None
    page = _html(as_owner.get(f"/project/{project.id}/keys"))
    assert "Access Key cannot be deleted: it is still used by" in page
    assert f'href="/project/{project.id}/repositories/{repository.id}/edit"' in page
    assert f'href="/project/{project.id}/inventory/{inventory.id}/edit"' in page
    assert "in use by one or more" not in page


# --- repositories, inventories -------------------------------------------------------------------


def test_repositories_create_edit_and_delete(as_owner, project):
    key = factories.key(project=project, name="none-key")
    base = f"/project/{project.id}/repositories"
    fields = {"name": "app", "git_url": "https://example.com/app.git", "ssh_key_id": str(key.id)}
    bad = as_owner.submit(f"{base}/new", {**fields, "git_branch": ""})
    assert bad.status_code == 422
    assert 'data-testid="error-git_branch"' in _html(bad) and "Branch is required" in _html(bad)
    assert _one(Repository, name="app") is None

    assert as_owner.submit(f"{base}/new", {**fields, "git_branch": "main"}).status_code == 303
    repo = _one(Repository, name="app")
    assert (repo.git_branch, repo.ssh_key_id) == ("main", key.id)
    edited = as_owner.submit(f"{base}/{repo.id}/edit", {**fields, "git_branch": "develop"})
    assert edited.status_code == 303
    assert db.session.get(Repository, repo.id).git_branch == "develop"
    repo_id = repo.id
    assert _delete(as_owner, f"{base}/{repo_id}").status_code == 204
    assert db.session.get(Repository, repo_id) is None


def test_inventories_create_edit_and_delete(as_owner, project):
    key = factories.key(project=project)
    base = f"/project/{project.id}/inventory"
    bad = as_owner.submit(f"{base}/new", {"name": "files", "type": "file", "inventory": "/etc/x"})
    assert bad.status_code == 422 and 'data-testid="error-inventory"' in _html(bad)
    assert _one(Inventory, name="files") is None

    fields = {"name": "hosts", "type": "static", "inventory": "[web]\nweb1", "ssh_key_id": key.id}
    assert as_owner.submit(f"{base}/new", fields).status_code == 303
    inventory = _one(Inventory, name="hosts")
    assert inventory.ssh_key_id == key.id and inventory.become_key_id is None
    edited = as_owner.submit(f"{base}/{inventory.id}/edit", {**fields, "ssh_key_id": ""})
    assert edited.status_code == 303
    assert db.session.get(Inventory, inventory.id).ssh_key_id is None
    inventory_id = inventory.id
    assert _delete(as_owner, f"{base}/{inventory_id}").status_code == 204
    assert db.session.get(Inventory, inventory_id) is None


# --- environments --------------------------------------------------------------------------------


def _secret_keys(environment_id: int) -> list[AccessKey]:
    return list(db.session.scalars(select(AccessKey).filter_by(environment_id=environment_id)))


def test_environments_with_secrets(as_owner, project):
    base = f"/project/{project.id}/environment"
    bad = as_owner.submit(f"{base}/new", {"name": "prod", "json": "{not json"})
    assert bad.status_code == 422 and 'data-testid="error-json"' in _html(bad)
    bad_secret = as_owner.submit(
        f"{base}/new",
        {"name": "prod", "json": "{}", "secrets-0-type": "env", "secrets-0-name": "NOT OK"},
    )
    assert bad_secret.status_code == 422
    assert 'data-testid="error-secrets-0-name"' in _html(bad_secret)
    assert _one(Environment, name="prod") is None

    created = as_owner.submit(
        f"{base}/new",
        {
            "name": "prod",
            "json": '{"tier": "prod"}',
            "env": "",
            "secrets-0-type": "env",
            "secrets-0-name": "API_TOKEN",
            "secrets-0-secret": "hunter2-value",
        },
    )
    assert created.status_code == 303
    environment = _one(Environment, name="prod")
    (secret,) = _secret_keys(environment.id)
    assert secret.name == "env.API_TOKEN"

    edit = _html(as_owner.get(f"{base}/{environment.id}/edit"))
    assert "API_TOKEN" in edit and "hunter2-value" not in edit
    removed = as_owner.submit(
        f"{base}/{environment.id}/edit",
        {"name": "prod", "json": "{}", "remove_secrets": str(secret.id)},
    )
    assert removed.status_code == 303
    assert _secret_keys(environment.id) == []
    environment_id = environment.id
    assert _delete(as_owner, f"{base}/{environment_id}").status_code == 204
    assert db.session.get(Environment, environment_id) is None


# --- templates, views, schedules -----------------------------------------------------------------


def test_templates_create_edit_and_delete(as_owner, project):
    repo = factories.repository(project=project, name="repo")
    inventory = factories.inventory(project=project, name="inv")
    vault_key = factories.key(project=project, name="vault-pw", type="login_password")
    base = f"/project/{project.id}/templates"
    fields = {
        "name": "Deploy",
        "app": "ansible",
        "type": "",
        "playbook": "site.yml",
        "repository_id": str(repo.id),
        "inventory_id": str(inventory.id),
        "arguments-0": "--diff",
    }
    bad = as_owner.submit(f"{base}/new", {**fields, "playbook": ""})
    assert bad.status_code == 422 and 'data-testid="error-playbook"' in _html(bad)
    bad_row = as_owner.submit(f"{base}/new", {**fields, "vaults-0-vault_key_id": ""})
    assert bad_row.status_code == 422
    assert 'data-testid="error-vaults-0-vault_key_id"' in _html(bad_row)
    assert _one(Template, name="Deploy") is None

    vaults = {"vaults-0-name": "default", "vaults-0-vault_key_id": str(vault_key.id)}
    survey = {"survey_vars-0-name": "version", "survey_vars-0-title": "Version"}
    created = as_owner.submit(f"{base}/new", {**fields, **vaults, **survey})
    assert created.status_code == 303
    template = _one(Template, name="Deploy")
    assert template.arguments == '["--diff"]' and template.inventory_id == inventory.id
    assert _one(TemplateVault, template_id=template.id).vault_key_id == vault_key.id

    edit = _html(as_owner.get(f"{base}/{template.id}/edit"))
    assert "vault_key_id" in edit and "version" in edit
    edited = as_owner.submit(
        f"{base}/{template.id}/edit",
        {**fields, "playbook": "deploy.yml", **survey},
    )
    assert edited.status_code == 303
    assert db.session.get(Template, template.id).playbook == "deploy.yml"
    assert _one(TemplateVault, template_id=template.id) is None
    template_id = template.id
    assert _delete(as_owner, f"{base}/{template_id}").status_code == 204
    assert db.session.get(Template, template_id) is None


def test_views_create_edit_and_delete(as_owner, project):
    base = f"/project/{project.id}/views"
    bad = as_owner.submit(f"{base}/new", {"title": ""})
    assert bad.status_code == 422 and 'data-testid="error-title"' in _html(bad)
    assert as_owner.submit(f"{base}/new", {"title": "Build"}).status_code == 303
    view = _one(View, title="Build")
    edited = as_owner.submit(f"{base}/{view.id}/edit", {"title": "Builds", "position": "5"})
    assert edited.status_code == 303
    assert (db.session.get(View, view.id).title, db.session.get(View, view.id).position) == (
        "Builds",
        5,
    )
    view_id = view.id
    assert _delete(as_owner, f"{base}/{view_id}").status_code == 204
    assert db.session.get(View, view_id) is None


def test_schedules_create_edit_and_delete(as_owner, project):
    template = factories.template(project=project, name="Nightly job")
    base = f"/project/{project.id}/schedules"
    fields = {"name": "nightly", "template_id": str(template.id), "type": "", "active": "y"}
    bad = as_owner.submit(f"{base}/new", {**fields, "cron_format": "every night"})
    assert bad.status_code == 422 and 'data-testid="error-cron_format"' in _html(bad)
    assert _one(Schedule, name="nightly") is None

    assert as_owner.submit(f"{base}/new", {**fields, "cron_format": "0 3 * * *"}).status_code == 303
    schedule = _one(Schedule, name="nightly")
    assert schedule.active and schedule.cron_format == "0 3 * * *"
    assert "Nightly job" in _html(as_owner.get(base))
    edited = as_owner.submit(
        f"{base}/{schedule.id}/edit", {**fields, "active": "", "cron_format": "0 4 * * *"}
    )
    assert edited.status_code == 303
    schedule = db.session.get(Schedule, schedule.id)
    assert not schedule.active and schedule.cron_format == "0 4 * * *"
    schedule_id = schedule.id
    assert _delete(as_owner, f"{base}/{schedule_id}").status_code == 204
    assert db.session.get(Schedule, schedule_id) is None


# --- who sees and may do what --------------------------------------------------------------------

FORMS = {
    "keys": {"name": "x", "type": "none"},
    "views": {"title": "x"},
}


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_read_only_members_see_no_buttons_and_are_refused(web, project, role):
    objects = _everything(project)
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    web.log_in(member)
    base = f"/project/{project.id}"
    for kind, (object_id, name) in objects.items():
        page = _html(web.get(f"{base}/{kind}"))
        assert name in page, kind
        assert 'data-testid="new-' not in page and "hx-delete" not in page, kind
        assert 'data-testid="edit-' not in page, kind
        assert web.get(f"{base}/{kind}/new").status_code == 403, kind
        assert web.get(f"{base}/{kind}/{object_id}/edit").status_code == 403, kind
        token = csrf_token(page)
        posted = web.post(f"{base}/{kind}/new", data={"csrf_token": token, **FORMS.get(kind, {})})
        assert posted.status_code == 403, kind
        assert _delete(web, f"{base}/{kind}/{object_id}").status_code == 403, kind
    assert db.session.scalar(select(AccessKey).filter_by(name="x")) is None
    assert _one(AccessKey, id=objects["keys"][0]) is not None

    settings = _html(web.get(f"{base}/settings"))
    assert 'data-testid="read-only"' in settings and 'data-testid="delete-project"' not in settings
    token = csrf_token(settings)
    refused = web.post(f"{base}/settings", data={"csrf_token": token, "name": "Hijacked"})
    assert refused.status_code == 403
    assert db.session.get(Project, project.id).name == "Apollo"
    members = _html(web.get(f"{base}/members"))
    assert 'data-testid="member-form"' not in members and "remove-member-" not in members


def test_non_members_get_404(web, project):
    objects = _everything(project)
    web.log_in(factories.user())
    base = f"/project/{project.id}"
    for path in (*objects, "settings", "members", "activity", "keys/new"):
        assert web.get(f"{base}/{path}").status_code == 404, path
