"""The run dialog offers what the template allows (issue 20, point 4): an inventory of the
template's kind, Ansible's limit / tags / skip tags (the original's template task params
`allow_override_*`), Terraform's switches, a deploy's build; a re-run opens with the earlier
task's values and can pin the commit it ran."""

from __future__ import annotations

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Task
from tests import factories
from tests.web.helpers import Browser, form_values

HTMX = {"HX-Request": "true"}
ALLOW_ALL = {
    "allow_override_inventory": True,
    "allow_override_limit": True,
    "allow_override_tags": True,
    "allow_override_skip_tags": True,
}


def _tasks() -> list[Task]:
    db.session.expire_all()
    return list(db.session.scalars(select(Task).order_by(Task.id)))


def _owner_and_project():
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    return owner, project


def _dialog(web: Browser, project, template, query: str = "") -> tuple[str, str, dict]:
    url = f"/project/{project.id}/templates/{template.id}/run{query}"
    page = web.get(url, headers=HTMX)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return url, html, form_values(html)


def test_a_template_that_allows_nothing_shows_no_override_fields(app):
    owner, project = _owner_and_project()
    template = factories.template(project=project, name="Plain")
    web = Browser(app)
    web.log_in(owner)
    _, html, _ = _dialog(web, project, template)
    for name in ("inventory_id", "limit", "tags", "skip_tags", "pin_commit", "build_task_id"):
        assert f'data-testid="field-{name}"' not in html
    for name in ("debug", "dry_run", "diff", "message"):
        assert f'data-testid="field-{name}"' in html


def test_allowed_ansible_overrides_reach_the_task(app):
    owner, project = _owner_and_project()
    hosts = factories.inventory(project=project, name="Staging hosts")
    factories.inventory(
        project=project, name="A workspace", type="terraform-workspace", inventory="ws"
    )
    template = factories.template(project=project, name="Deploy", task_params=ALLOW_ALL)
    web = Browser(app)
    web.log_in(owner)
    url, html, fields = _dialog(web, project, template)
    # The inventory choice lists ansible inventories only, the template's own named first.
    assert "Staging hosts" in html and "A workspace" not in html
    assert "The template&#39;s (" in html or "The template's (" in html
    chosen = {"inventory_id": str(hosts.id), "limit": "web1, web2", "tags": "deploy"}
    for name, value in chosen.items():
        fields[name] = value  # replaces (a MultiDict's update would add)
    assert web.post(url, data=fields).status_code == 303
    (task,) = _tasks()
    assert task.inventory_id == hosts.id
    assert task.params == {"limit": ["web1", "web2"], "tags": ["deploy"], "skip_tags": []}


def test_a_bad_inventory_choice_is_refused_at_its_field(app):
    owner, project = _owner_and_project()
    other = factories.project()
    foreign = factories.inventory(project=other)
    template = factories.template(project=project, task_params=ALLOW_ALL)
    web = Browser(app)
    web.log_in(owner)
    url, _, fields = _dialog(web, project, template)
    fields["inventory_id"] = str(foreign.id)
    response = web.post(url, data=fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-testid="error-inventory_id"' in html
    assert "Inventory" in html and _tasks() == []


def test_template_defaults_fill_the_lists(app):
    owner, project = _owner_and_project()
    params = {**ALLOW_ALL, "limit": ["db"], "tags": ["a", "b"], "skip_tags": ["slow"]}
    template = factories.template(project=project, task_params=params)
    web = Browser(app)
    web.log_in(owner)
    _, _, fields = _dialog(web, project, template)
    assert (fields["limit"], fields["tags"], fields["skip_tags"]) == ("db", "a, b", "slow")


def test_terraform_dialog_has_upgrade_and_a_workspace_choice(app):
    owner, project = _owner_and_project()
    workspace = factories.inventory(
        project=project, name="prod-ws", type="terraform-workspace", inventory="prod"
    )
    factories.inventory(project=project, name="Ansible hosts")
    template = factories.template(
        project=project, app="terraform", playbook="", task_params=ALLOW_ALL
    )
    web = Browser(app)
    web.log_in(owner)
    url, html, fields = _dialog(web, project, template)
    assert "Workspace" in html and "prod-ws" in html and "Ansible hosts" not in html
    assert 'data-testid="field-limit"' not in html  # ansible's only
    fields["inventory_id"], fields["upgrade"] = str(workspace.id), "y"
    assert web.post(url, data=fields).status_code == 303
    (task,) = _tasks()
    assert task.inventory_id == workspace.id and task.params["upgrade"] is True


def test_a_rerun_opens_with_the_earlier_values_and_can_pin_its_commit(app):
    owner, project = _owner_and_project()
    hosts = factories.inventory(project=project, name="Other hosts")
    template = factories.template(project=project, task_params=ALLOW_ALL)
    earlier = factories.task(
        of=template,
        status="error",
        inventory_id=hosts.id,
        limit="web3",
        params={"tags": ["x"]},
        commit_hash="0123456789abcdef0123456789abcdef01234567",
        commit_message="fix it",
    )
    web = Browser(app)
    web.log_in(owner)
    url, html, fields = _dialog(web, project, template, f"?task={earlier.id}")
    assert 'data-testid="run-again-of"' in html and "01234567" in html
    assert fields["inventory_id"] == str(hosts.id)
    assert (fields["limit"], fields["tags"]) == ("web3", "x")
    assert "pin_commit" not in fields  # unticked: the branch's latest
    assert web.post(url, data=fields).status_code == 303
    assert _tasks()[-1].commit_hash is None

    _, _, fields = _dialog(web, project, template, f"?task={earlier.id}")
    fields["pin_commit"] = "y"
    assert web.post(url, data=fields).status_code == 303
    pinned = _tasks()[-1]
    assert pinned.commit_hash == earlier.commit_hash
    assert pinned.params == {"limit": ["web3"], "tags": ["x"], "skip_tags": []}


def test_a_rerun_keeps_lists_the_dialog_does_not_offer(app):
    owner, project = _owner_and_project()
    template = factories.template(project=project)
    earlier = factories.task(of=template, limit="web9", params={"tags": ["t1"]})
    web = Browser(app)
    web.log_in(owner)
    url, _, fields = _dialog(web, project, template, f"?task={earlier.id}")
    assert web.post(url, data=fields).status_code == 303
    task = _tasks()[-1]
    assert task.limit == "web9" and task.params == {"tags": ["t1"]}


def test_a_deploy_dialog_offers_the_build_versions_newest_first(app):
    owner, project = _owner_and_project()
    build = factories.template(project=project, name="Build", type="build", start_version="1.0")
    deploy = factories.template(
        project=project, name="Ship", type="deploy", build_template_id=build.id
    )
    old = factories.task(of=build, version="1.0", message="first")
    new = factories.task(of=build, version="1.1")
    failed = factories.task(of=build, version="1.2", status="error")
    web = Browser(app)
    web.log_in(owner)
    url, html, fields = _dialog(web, project, deploy)
    assert fields["build_task_id"] == str(new.id)
    assert "1.0 — first" in html and f'value="{failed.id}"' not in html
    fields["build_task_id"] = str(old.id)
    assert web.post(url, data=fields).status_code == 303
    assert _tasks()[-1].build_task_id == old.id


def test_the_api_takes_a_commit_to_check_out(app):
    owner, project = _owner_and_project()
    template = factories.template(project=project)
    api = factories.api_client(app, owner)
    path = f"/api/project/{project.id}/tasks"
    answer = api.post(path, json={"template_id": template.id, "commit_hash": "abc1234"})
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["commit_hash"] == "abc1234"
    for bad in ("main", "--upload-pack=x", "ab", 7):
        refused = api.post(path, json={"template_id": template.id, "commit_hash": bad})
        assert refused.status_code == 400
        assert "commit_hash" in refused.get_json()["error"]
    assert len(_tasks()) == 1


def test_the_template_form_sets_what_the_run_dialog_offers(app):
    owner, project = _owner_and_project()
    # Keys the form has no field for (another client's, the template's default tags) stay.
    template = factories.template(
        project=project, name="Site", task_params={"tags": ["web"], "allow_override_limit": True}
    )
    web = Browser(app)
    web.log_in(owner)
    edit = f"/project/{project.id}/templates/{template.id}/edit"
    html = web.get(edit).get_data(as_text=True)
    fields = form_values(html[html.index('<form method="post" novalidate data-testid="template') :])
    assert fields.get("allow_override_limit") == "y" and "allow_override_tags" not in fields
    del fields["allow_override_limit"]
    fields["allow_override_inventory"] = fields["allow_override_tags"] = "y"
    assert web.post(edit, data=fields).status_code == 303
    db.session.expire_all()
    assert template.task_params == {
        "tags": ["web"],
        "allow_override_inventory": True,
        "allow_override_tags": True,
    }
    _, html, _ = _dialog(web, project, template)
    assert 'data-testid="field-inventory_id"' in html and 'data-testid="field-tags"' in html
    assert 'data-testid="field-limit"' not in html
