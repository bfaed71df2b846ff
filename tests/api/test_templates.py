"""/api/project/{id}/templates: CRUD, references, vaults, survey vars, workspaces, deletes."""

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import (
    Event,
    Inventory,
    ProjectUser,
    Schedule,
    Task,
    TaskOutputChunk,
    Template,
    TemplateVault,
)
from semaphore.services.tasks import output as task_output
from tests import factories


@pytest.fixture
def project(user_api):
    """A project that the `user_api` user manages."""
    return factories.project(members={user_api.user: "manager"})


@pytest.fixture
def world(project):
    """The objects a template refers to."""
    return {
        "repository": factories.repository(project=project),
        "inventory": factories.inventory(project=project),
        "environment": factories.environment(project=project),
        "vault_key": factories.key(project=project, type="login_password"),
    }


def url(project, template_id=None, suffix=""):
    base = f"/api/project/{project.id}/templates"
    return (base if template_id is None else f"{base}/{template_id}") + suffix


def body(world, **fields):
    data = {
        "name": "Deploy",
        "app": "ansible",
        "playbook": "site.yml",
        "repository_id": world["repository"].id,
        "inventory_id": world["inventory"].id,
        "environment_id": world["environment"].id,
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def events_of(project):
    query = select(Event).where(Event.project_id == project.id, Event.object_type == "template")
    return [e.description for e in db.session.scalars(query.order_by(Event.id))]


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def member_client(app, project, role):
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    return factories.api_client(app, member)


def snapshot(project):
    """Every template-related row of the project, to prove a refused request changed nothing."""
    db.session.expire_all()
    rows = {}
    for model in (Template, TemplateVault, Inventory, Schedule, Task, Event):
        query = select(model).where(model.project_id == project.id).order_by(model.id)
        rows[model.__name__] = [
            {c.key: getattr(row, c.key) for c in model.__table__.columns}
            for row in db.session.scalars(query)
        ]
    return rows


# --- create, read, list -------------------------------------------------------------------------


def test_create_and_get_a_template(user_api, project, world):
    survey = [
        {
            "name": "size",
            "title": "Size",
            "type": "enum",
            "required": True,
            "description": "how big",
            "values": [{"name": "Small", "value": "s"}, {"name": "Large", "value": "l"}],
        }
    ]
    data = body(
        world,
        project_id=project.id,
        arguments='["--check"]',
        description="Roll out",
        git_branch="release",
        survey_vars=survey,
        task_params={"allow_debug": True},
        allow_override_args_in_task=True,
        vaults=[{"vault_key_id": world["vault_key"].id, "name": "prod"}],
    )
    response = user_api.post(url(project), json=data)
    assert response.status_code == 201
    created = response.get_json()
    assert created["name"] == "Deploy" and created["project_id"] == project.id
    assert created["arguments"] == '["--check"]' and created["git_branch"] == "release"
    assert created["survey_vars"] == [{**survey[0]}]
    assert created["task_params"] == {"allow_debug": True}
    assert created["allow_override_args_in_task"] is True
    assert created["tasks"] == 0 and created["last_task"] is None
    [vault] = created["vaults"]
    assert vault["vault_key_id"] == world["vault_key"].id and vault["name"] == "prod"
    assert vault["type"] == "password" and vault["template_id"] == created["id"]
    fetched = user_api.get(url(project, created["id"])).get_json()
    assert fetched == created
    assert events_of(project) == ["Template Deploy created"]


def test_empty_arguments_are_stored_as_null(user_api, project, world):
    created = user_api.post(url(project), json=body(world, arguments="")).get_json()
    assert created["arguments"] is None


@pytest.mark.parametrize(
    ("sort", "order", "expected"),
    [
        (None, None, ["alpha", "Beta", "gamma"]),
        ("name", "desc", ["gamma", "Beta", "alpha"]),
        ("playbook", "asc", ["gamma", "alpha", "Beta"]),
        ("inventory", "asc", ["Beta", "gamma", "alpha"]),
        ("repository", "desc", ["alpha", "Beta", "gamma"]),
    ],
)
def test_list_sorted(user_api, project, sort, order, expected):
    inventories = [factories.inventory(project=project, name=n) for n in ("c", "a", "b")]
    repos = [factories.repository(project=project, name=n) for n in ("z", "y", "x")]
    for name, playbook, inv, repo in zip(
        ("alpha", "Beta", "gamma"), ("b.yml", "c.yml", "a.yml"), inventories, repos, strict=True
    ):
        factories.template(
            project=project,
            name=name,
            playbook=playbook,
            inventory_id=inv.id,
            repository_id=repo.id,
        )
    query = "".join(
        f"&{k}={v}" for k, v in (("sort", sort), ("order", order)) if v is not None
    ).lstrip("&")
    listed = user_api.get(url(project) + (f"?{query}" if query else "")).get_json()
    assert [t["name"] for t in listed] == expected


def test_list_filters_by_view(user_api, project):
    view = factories.view(project=project)
    factories.template(project=project, name="in view", view_id=view.id)
    factories.template(project=project, name="elsewhere")
    listed = user_api.get(url(project) + f"?view_id={view.id}").get_json()
    assert [t["name"] for t in listed] == ["in view"]
    by_view = user_api.get(f"/api/project/{project.id}/views/{view.id}/templates").get_json()
    assert [t["name"] for t in by_view] == ["in view"]


def test_last_task_is_the_newest_task(user_api, project):
    template = factories.template(project=project)
    for status in ("error", "success"):
        db.session.add(
            Task(template_id=template.id, project_id=project.id, status=status, playbook="")
        )
    template.tasks = 2
    db.session.commit()
    [listed] = user_api.get(url(project)).get_json()
    assert listed["tasks"] == 2
    assert listed["last_task"]["status"] == "success"
    assert listed["last_task"]["tpl_alias"] == template.name
    one = user_api.get(url(project, template.id)).get_json()
    assert one["last_task"] == listed["last_task"]


def test_unknown_and_foreign_templates_are_404(user_api, project):
    other = factories.template()
    assert user_api.get(url(project, 999999)).status_code == 404
    assert user_api.get(url(project, other.id)).status_code == 404
    assert user_api.put(url(project, other.id), json={"name": "x"}).status_code == 404
    assert user_api.delete(url(project, other.id)).status_code == 404


def test_non_members_get_404(app, project):
    outsider = factories.api_client(app, factories.user())
    assert outsider.get(url(project)).status_code == 404


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_readers_cannot_write(app, project, world, role):
    client = member_client(app, project, role)
    template = factories.template(project=project)
    assert client.get(url(project)).status_code == 200
    before = snapshot(project)
    assert client.post(url(project), json=body(world)).status_code == 403
    assert client.put(url(project, template.id), json=body(world)).status_code == 403
    assert client.delete(url(project, template.id)).status_code == 403
    assert snapshot(project) == before


# --- validation ---------------------------------------------------------------------------------


BAD_BODIES = [
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": 7}, "name"),
    ({"app": "cobol"}, "Invalid app id: cobol"),
    ({"app": "pulumi"}, "Invalid app id: pulumi"),
    ({"playbook": None}, "playbook"),
    ({"inventory_id": None}, "inventory_id"),
    ({"inventory_id": "one"}, "inventory_id"),
    ({"repository_id": None}, "repository_id"),
    ({"environment_id": 999999}, "Environment"),
    ({"view_id": 999999}, "View"),
    ({"arguments": "[--check"}, "arguments"),
    ({"arguments": '{"a": 1}'}, "arguments"),
    ({"arguments": "[1, 2]"}, "arguments"),
    ({"arguments": ["--check"]}, "arguments"),
    ({"type": "nightly"}, "type"),
    ({"type": "deploy"}, "build_template_id"),
    ({"allow_override_args_in_task": "yes"}, "allow_override_args_in_task"),
    ({"survey_vars": {"name": "x"}}, "survey_vars"),
    ({"survey_vars": [{"title": "no name"}]}, "survey_vars[0]"),
    ({"survey_vars": [{"name": "x", "type": "float"}]}, "survey_vars[0]"),
    ({"survey_vars": [{"name": "x", "type": "enum"}]}, "survey_vars[0]"),
    ({"survey_vars": [{"name": "x", "values": [{"name": 1}]}]}, "values[0]"),
    ({"survey_vars": [{"name": "x"}, {"name": "x"}]}, "survey_vars[1]"),
    ({"vaults": "prod"}, "vaults"),
    ({"vaults": [{"name": "prod"}]}, "vault_key_id"),
    ({"vaults": [{"type": "script"}]}, "script"),
    ({"vaults": [{"type": "file", "script": "x"}]}, "type"),
    ({"task_params": "debug"}, "task_params"),
    ({"project_id": 999999}, "Project ID in body and URL must be the same"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_BODIES)
def test_bad_templates_are_refused(user_api, project, world, fields, message):
    before = count(Template)
    response = user_api.post(url(project), json=body(world, **fields) | _nulls(fields))
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert count(Template) == before and count(Inventory) == 1


def _nulls(fields):
    """body() drops None values; keep the explicit nulls the case is about."""
    return {k: v for k, v in fields.items() if v is None}


def test_vault_key_must_be_a_login_password_key_of_the_project(user_api, project, world):
    ssh_key = factories.key(project=project, type="ssh")
    foreign = factories.key(type="login_password")
    for key in (ssh_key, foreign):
        data = body(world, vaults=[{"vault_key_id": key.id}])
        assert user_api.post(url(project), json=data).status_code == 400
    assert count(TemplateVault) == 0


@pytest.mark.parametrize(
    "field", ["inventory_id", "repository_id", "environment_id", "view_id", "build_template_id"]
)
def test_references_to_another_project_are_refused(user_api, project, world, field):
    other = factories.project()
    foreign = {
        "inventory_id": lambda: factories.inventory(project=other).id,
        "repository_id": lambda: factories.repository(project=other).id,
        "environment_id": lambda: factories.environment(project=other).id,
        "view_id": lambda: factories.view(project=other).id,
        "build_template_id": lambda: factories.template(project=other, type="build").id,
    }[field]()
    extra = {"type": "deploy"} if field == "build_template_id" else {}
    response = user_api.post(url(project), json=body(world, **{field: foreign}, **extra))
    assert response.status_code == 400
    assert "does not exist in this project" in response.get_json()["error"]
    assert db.session.scalar(select(Template).where(Template.project_id == project.id)) is None


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
def test_malformed_or_non_object_body_is_400(user_api, project, raw):
    template = factories.template(project=project)
    assert user_api.post(url(project), data=raw, content_type="application/json").status_code == 400
    response = user_api.put(url(project, template.id), data=raw, content_type="application/json")
    assert response.status_code == 400


def test_body_id_must_match_the_url(user_api, project, world):
    template = factories.template(project=project)
    response = user_api.put(url(project, template.id), json=body(world, id=template.id + 1))
    assert response.status_code == 400
    assert "ID in body and URL must be the same" in response.get_json()["error"]


# --- update and types ---------------------------------------------------------------------------


def test_update_replaces_the_template(user_api, project, world):
    view = factories.view(project=project)
    created = user_api.post(
        url(project), json=body(world, description="old", git_branch="dev")
    ).get_json()
    data = body(world, id=created["id"], name="Renamed", view_id=view.id, environment_id=None)
    assert user_api.put(url(project, created["id"]), json=data).status_code == 204
    fetched = user_api.get(url(project, created["id"])).get_json()
    assert fetched["name"] == "Renamed" and fetched["view_id"] == view.id
    assert fetched["description"] is None and fetched["git_branch"] is None
    assert fetched["environment_id"] is None
    assert events_of(project) == ["Template Deploy created", "Template Renamed updated"]


def test_build_and_deploy_templates(user_api, project, world):
    build = user_api.post(
        url(project), json=body(world, name="Build", type="build", start_version="1.0.0")
    ).get_json()
    assert build["start_version"] == "1.0.0"
    deploy = user_api.post(
        url(project),
        json=body(world, name="Ship", type="deploy", build_template_id=build["id"], autorun=True),
    ).get_json()
    assert deploy["build_template_id"] == build["id"] and deploy["autorun"] is True
    # A plain template cannot be the build of a deploy template.
    plain = factories.template(project=project)
    bad = body(world, type="deploy", build_template_id=plain.id)
    assert user_api.post(url(project), json=bad).status_code == 400
    # PUT clears start_version unless build and build_template_id unless deploy.
    again = body(world, name="Build", type="", start_version="2.0.0")
    assert user_api.put(url(project, build["id"]), json=again).status_code == 400  # in use
    again = body(world, name="Ship", type="", build_template_id=build["id"])
    assert user_api.put(url(project, deploy["id"]), json=again).status_code == 204
    assert user_api.get(url(project, deploy["id"])).get_json()["build_template_id"] is None
    again = body(world, name="Build", type="", start_version="2.0.0")
    assert user_api.put(url(project, build["id"]), json=again).status_code == 204
    assert user_api.get(url(project, build["id"])).get_json()["start_version"] is None


def test_failed_update_changes_nothing(user_api, project, world):
    created = user_api.post(
        url(project), json=body(world, vaults=[{"vault_key_id": world["vault_key"].id}])
    ).get_json()
    before = snapshot(project)
    data = body(world, name="New", vaults=[{"type": "script"}])
    assert user_api.put(url(project, created["id"]), json=data).status_code == 400
    data = body(world, name="New", inventory_id=factories.inventory().id)
    assert user_api.put(url(project, created["id"]), json=data).status_code == 400
    assert snapshot(project) == before


def test_put_replaces_the_vault_set(user_api, project, world):
    key = world["vault_key"]
    vaults = [{"vault_key_id": key.id, "name": "a"}, {"vault_key_id": key.id, "name": "b"}]
    created = user_api.post(url(project), json=body(world, vaults=vaults)).get_json()
    first, second = created["vaults"]
    replacement = [
        {**first, "name": "a2"},
        {"id": 0, "type": "script", "script": "vault/client.py", "name": "c"},
    ]
    response = user_api.put(url(project, created["id"]), json=body(world, vaults=replacement))
    assert response.status_code == 204
    updated = user_api.get(url(project, created["id"])).get_json()["vaults"]
    assert [v["name"] for v in updated] == ["a2", "c"]
    assert updated[0]["id"] == first["id"]
    assert updated[1]["type"] == "script" and updated[1]["vault_key_id"] is None
    assert db.session.get(TemplateVault, second["id"]) is None
    # Another template's vault id is not this template's to update.
    other = user_api.post(
        url(project), json=body(world, name="Other", vaults=[{"vault_key_id": key.id}])
    ).get_json()
    stolen = [{"id": other["vaults"][0]["id"], "vault_key_id": key.id, "name": "x"}]
    response = user_api.put(url(project, created["id"]), json=body(world, vaults=stolen))
    assert response.status_code == 400
    # Omitting vaults removes them all, as the original's PUT does.
    assert user_api.put(url(project, created["id"]), json=body(world)).status_code == 204
    assert user_api.get(url(project, created["id"])).get_json()["vaults"] == []


def test_vault_names_are_unique(user_api, project, world):
    key = world["vault_key"]
    data = body(world, vaults=[{"vault_key_id": key.id}, {"vault_key_id": key.id}])
    assert user_api.post(url(project), json=data).status_code == 400


# --- terraform ----------------------------------------------------------------------------------


@pytest.mark.parametrize("app_id", ["terraform", "tofu", "terragrunt"])
def test_terraform_template_gets_a_workspace_inventory(user_api, project, world, app_id):
    data = body(world, name="Infra", app=app_id, playbook="/stacks/web", inventory_id=None)
    created = user_api.post(url(project), json=data).get_json()
    assert created["playbook"] == "stacks/web"
    inventory_id = created["inventory_id"]
    inventory = db.session.get(Inventory, inventory_id)
    assert (inventory.name, inventory.type, inventory.inventory) == (
        "Infra - default",
        "terraform-workspace",
        "default",
    )
    assert inventory.holder_id == created["id"]
    # An update without an inventory keeps the workspace rather than making another.
    data = body(world, name="Infra", app=app_id, playbook="", inventory_id=None)
    assert user_api.put(url(project, created["id"]), json=data).status_code == 204
    assert user_api.get(url(project, created["id"])).get_json()["inventory_id"] == inventory_id
    assert user_api.delete(url(project, created["id"])).status_code == 204
    assert db.session.get(Inventory, inventory_id) is None


def test_shell_templates_need_no_inventory(user_api, project, world):
    data = body(world, app="bash", playbook="run.sh", inventory_id=None)
    created = user_api.post(url(project), json=data).get_json()
    assert created["inventory_id"] is None


# --- delete -------------------------------------------------------------------------------------


def test_delete_removes_what_the_template_owns(user_api, project, world):
    created = user_api.post(
        url(project), json=body(world, vaults=[{"vault_key_id": world["vault_key"].id}])
    ).get_json()
    template_id = created["id"]
    schedule = factories.schedule(project=project, template_id=template_id)
    task = Task(template_id=template_id, project_id=project.id, status="success")
    db.session.add(task)
    db.session.flush()
    task_output.append_line(task.id, "ok")
    db.session.commit()
    schedule_id, task_id = schedule.id, task.id
    assert user_api.delete(url(project, template_id)).status_code == 204
    assert db.session.get(Template, template_id) is None
    assert db.session.get(Schedule, schedule_id) is None
    assert db.session.get(Task, task_id) is None
    assert count(TaskOutputChunk) == 0 and count(TemplateVault) == 0
    assert db.session.get(Inventory, world["inventory"].id) is not None
    assert events_of(project)[-1] == "Template Deploy deleted"


def test_build_template_in_use_cannot_be_deleted(user_api, project, world):
    build = factories.template(project=project, type="build")
    deploy = factories.template(project=project, type="deploy", build_template_id=build.id)
    response = user_api.delete(url(project, build.id))
    assert response.status_code == 400
    assert response.get_json() == {
        "error": f"Template is in use by template '{deploy.name}'",
        "inUse": True,
        "used_by": [{"kind": "template", "id": deploy.id, "name": deploy.name}],
    }
    refs = user_api.get(url(project, build.id, "/refs")).get_json()
    assert refs["templates"] == [{"id": deploy.id, "name": deploy.name}]
    assert db.session.get(Template, build.id) is not None


def test_survey_vars_round_trip(user_api, project, world):
    survey = [
        {"name": "count", "title": "Count", "type": "int"},
        {"name": "token", "title": "Token", "type": "secret", "required": True},
    ]
    created = user_api.post(url(project), json=body(world, survey_vars=survey)).get_json()
    stored = db.session.get(Template, created["id"]).survey_vars
    assert [v["name"] for v in stored] == ["count", "token"]
    assert created["survey_vars"][1]["required"] is True
    assert created["survey_vars"][0]["values"] == []


# --- environment_ids (2.16): several environments, in order ----------------------------------


def test_environment_ids_are_stored_in_order_and_returned(user_api, project, world):
    second = factories.environment(project=project, name="second")
    first = world["environment"].id
    data = body(world, environment_id=None, environment_ids=[second.id, first])
    created = user_api.post(url(project), json=data)
    assert created.status_code == 201
    answer = created.get_json()
    assert answer["environment_ids"] == [second.id, first]
    assert answer["environment_id"] == second.id  # the first, for clients that know only it
    template_id = answer["id"]
    assert user_api.get(url(project, template_id)).get_json()["environment_ids"] == [
        second.id,
        first,
    ]
    listed = user_api.get(url(project)).get_json()
    assert listed[0]["environment_ids"] == [second.id, first]


def test_an_older_client_sending_environment_id_alone_gets_that_one(user_api, project, world):
    created = user_api.post(url(project), json=body(world)).get_json()
    assert created["environment_ids"] == [world["environment"].id]
    without = dict(body(world))
    del without["environment_id"]
    bare = user_api.post(url(project), json={**without, "name": "bare"}).get_json()
    assert bare["environment_id"] is None and bare["environment_ids"] == []


def test_a_read_modify_write_client_changes_either_field(user_api, project, world):
    second = factories.environment(project=project, name="second")
    third = factories.environment(project=project, name="third")
    template_id = user_api.post(url(project), json=body(world)).get_json()["id"]
    current = user_api.get(url(project, template_id)).get_json()
    # A script that knows only environment_id changes it and sends the rest back unchanged.
    changed = {**current, "environment_id": second.id}
    assert user_api.put(url(project, template_id), json=changed).status_code == 204
    current = user_api.get(url(project, template_id)).get_json()
    assert current["environment_ids"] == [second.id]
    # A newer client changes the list and leaves environment_id as it read it.
    changed = {**current, "environment_ids": [third.id, second.id]}
    assert user_api.put(url(project, template_id), json=changed).status_code == 204
    current = user_api.get(url(project, template_id)).get_json()
    assert (current["environment_id"], current["environment_ids"]) == (
        third.id,
        [third.id, second.id],
    )
    # Both changed, and they disagree: refused, nothing written.
    clash = {**current, "environment_id": world["environment"].id, "environment_ids": [second.id]}
    refused = user_api.put(url(project, template_id), json=clash)
    assert refused.status_code == 400
    assert "environment_id must be the first of environment_ids" in refused.get_json()["error"]
    assert user_api.get(url(project, template_id)).get_json()["environment_ids"] == [
        third.id,
        second.id,
    ]


@pytest.mark.parametrize(
    "environment_ids,message",
    [
        ("1", "environment_ids must be an array of ids"),
        ([True], "environment_ids[0] must be an integer"),
        (["x"], "environment_ids[0] must be an integer"),
        ([2**64], "environment_ids[0] is out of range"),
        ([0], "environment_ids[0] is required"),
        ("foreign", "does not exist in this project"),
        ("twice", "lists environment"),
        (list(range(1, 60)), "at most 50 environments"),
    ],
)
def test_bad_environment_ids_are_refused_and_nothing_is_written(
    user_api, project, world, environment_ids, message
):
    own = world["environment"].id
    if environment_ids == "foreign":
        environment_ids = [factories.environment().id]
    elif environment_ids == "twice":
        environment_ids = [own, own]
    data = body(world, environment_ids=environment_ids)
    del data["environment_id"]
    response = user_api.post(url(project), json=data)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert db.session.query(Template).filter_by(project_id=project.id).count() == 0
