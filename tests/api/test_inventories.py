"""/api/project/{id}/inventory: CRUD, types, file paths, references, roles, in-use deletes."""

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import Event, Inventory, ProjectUser
from tests import factories


@pytest.fixture
def project(user_api):
    """A project that the `user_api` user manages."""
    return factories.project(members={user_api.user: "manager"})


def url(project, inventory_id=None):
    base = f"/api/project/{project.id}/inventory"
    return base if inventory_id is None else f"{base}/{inventory_id}"


def body(**fields):
    data = {"name": "Hosts", "type": "static", "inventory": "[web]\nweb1.example.com\n"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def events_of(project):
    query = select(Event).where(Event.project_id == project.id, Event.object_type == "inventory")
    return list(db.session.scalars(query.order_by(Event.id)))


def count_inventories():
    return db.session.scalar(select(func.count()).select_from(Inventory))


def member_client(app, project, role):
    """An API client of a new user holding `role` in the project."""
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    return factories.api_client(app, member)


def test_create_inventory_with_references(user_api, project):
    ssh = factories.key(project=project)
    become = factories.key(project=project)
    repository = factories.repository(project=project)
    data = body(
        project_id=project.id,
        type="file",
        inventory="inventories/prod.ini",
        ssh_key_id=ssh.id,
        become_key_id=become.id,
        repository_id=repository.id,
    )
    response = user_api.post(url(project), json=data)
    assert response.status_code == 201
    created = response.get_json()
    assert created == {
        "id": created["id"],
        "name": "Hosts",
        "project_id": project.id,
        "inventory": "inventories/prod.ini",
        "ssh_key_id": ssh.id,
        "become_key_id": become.id,
        "repository_id": repository.id,
        "type": "file",
        "holder_id": None,
    }
    [event] = events_of(project)
    assert (event.object_id, event.description) == (created["id"], "Inventory Hosts created")


def test_static_inventory_keeps_its_text(user_api, project):
    text = "  [web]\n  web1 ansible_host=10.0.0.1\n"
    response = user_api.post(url(project), json=body(inventory=text, ssh_key_id=0))
    assert response.status_code == 201
    assert response.get_json()["inventory"] == text
    assert response.get_json()["ssh_key_id"] is None


@pytest.mark.parametrize(
    ("inventory_type", "content"),
    [("static-yaml", "all:\n  hosts: {}\n"), ("terraform-workspace", "default")],
)
def test_other_types(user_api, project, inventory_type, content):
    response = user_api.post(url(project), json=body(type=inventory_type, inventory=content))
    assert response.status_code == 201
    assert response.get_json()["type"] == inventory_type


def test_get_inventory(user_api, project):
    inventory = factories.inventory(project=project, name="Prod")
    response = user_api.get(url(project, inventory.id))
    assert response.status_code == 200
    assert response.get_json()["name"] == "Prod"


def test_list_and_sort_inventories(user_api, project):
    factories.inventory(project=project, name="beta", type="static-yaml")
    factories.inventory(project=project, name="Alpha", type="static")
    factories.inventory(project=project, name="gamma", type="file", inventory="hosts")
    factories.inventory(name="elsewhere")

    def names(query=""):
        response = user_api.get(url(project) + query)
        assert response.status_code == 200
        return [i["name"] for i in response.get_json()]

    assert names() == ["Alpha", "beta", "gamma"]
    assert names("?sort=name&order=desc") == ["gamma", "beta", "Alpha"]
    assert names("?sort=type&order=asc") == ["gamma", "Alpha", "beta"]


def test_update_inventory_keeps_holder(user_api, project):
    template = factories.template(project=project)
    inventory = factories.inventory(
        project=project, type="terraform-workspace", inventory="default", holder_id=template.id
    )
    key = factories.key(project=project)
    change = body(
        id=inventory.id,
        project_id=project.id,
        name="Renamed",
        type="terraform-workspace",
        inventory="staging",
        ssh_key_id=key.id,
        holder_id=999,
    )
    assert user_api.put(url(project, inventory.id), json=change).status_code == 204
    db.session.expire_all()
    assert (inventory.name, inventory.inventory, inventory.ssh_key_id, inventory.holder_id) == (
        "Renamed",
        "staging",
        key.id,
        template.id,
    )
    assert [e.description for e in events_of(project)] == ["Inventory Renamed updated"]


def test_update_clears_optional_references(user_api, project):
    key = factories.key(project=project)
    inventory = factories.inventory(project=project, ssh_key_id=key.id, become_key_id=key.id)
    assert user_api.put(url(project, inventory.id), json=body()).status_code == 204
    db.session.expire_all()
    assert (inventory.ssh_key_id, inventory.become_key_id) == (None, None)


def test_delete_inventory(user_api, project):
    inventory_id = factories.inventory(project=project, name="Old").id
    assert user_api.delete(url(project, inventory_id)).status_code == 204
    assert db.session.get(Inventory, inventory_id) is None
    [event] = events_of(project)
    assert (event.object_id, event.description) == (inventory_id, "Inventory Old deleted")


def test_held_inventory_no_template_uses_can_be_deleted(user_api, project):
    template = factories.template(project=project)
    held = factories.inventory(project=project, type="terraform-workspace", holder_id=template.id)
    assert user_api.delete(url(project, held.id)).status_code == 204


def test_inventory_in_use_cannot_be_deleted(user_api, project):
    inventory = factories.inventory(project=project)
    template = factories.template(project=project, name="site", inventory_id=inventory.id)
    response = user_api.delete(url(project, inventory.id))
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "Inventory is in use by template 'site'",
        "inUse": True,
        "used_by": [{"kind": "template", "id": template.id, "name": "site"}],
    }
    refs = user_api.get(url(project, inventory.id) + "/refs").get_json()
    assert refs["templates"] == [{"id": template.id, "name": "site"}]
    assert db.session.get(Inventory, inventory.id) is not None
    assert events_of(project) == []


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"name": ""},
        {"name": ["x"]},
        {"type": None},
        {"type": "ini"},
        {"type": "tofu-workspace"},
        {"type": 1},
        {"inventory": 5},
        {"type": "file", "inventory": ""},
        {"type": "file", "inventory": "/etc/ansible/hosts"},
        {"type": "file", "inventory": "../../etc/hosts"},
        {"type": "file", "inventory": "inventories/../../hosts"},
        {"type": "file", "inventory": "..\\hosts"},
        {"type": "file", "inventory": "C:\\hosts"},
        {"type": "terraform-workspace", "inventory": ""},
        {"type": "terraform-workspace", "inventory": "-chdir=/"},
        {"ssh_key_id": "3"},
        {"become_key_id": 999999},
        {"repository_id": 999999},
        {"repository_id": False},
    ],
)
def test_create_with_bad_fields_is_400(user_api, project, change):
    response = user_api.post(url(project), json=body(**change))
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert count_inventories() == 0 and events_of(project) == []


def test_tofu_workspace_is_refused_on_update(user_api, project):
    inventory = factories.inventory(project=project)
    change = body(type="tofu-workspace", inventory="default")
    assert user_api.put(url(project, inventory.id), json=change).status_code == 400


def test_file_path_inside_the_checkout_is_fine(user_api, project):
    response = user_api.post(url(project), json=body(type="file", inventory="a/../hosts.yml"))
    assert response.status_code == 201


@pytest.mark.parametrize("field", ["ssh_key_id", "become_key_id", "repository_id"])
def test_references_to_another_project_are_400(user_api, project, field):
    foreign = factories.repository() if field == "repository_id" else factories.key()
    response = user_api.post(url(project), json=body(**{field: foreign.id}))
    assert response.status_code == 400
    assert "does not exist in this project" in response.get_json()["error"]
    assert count_inventories() == 0


def test_body_ids_must_match(user_api, project):
    inventory = factories.inventory(project=project)
    other = factories.project()
    response = user_api.post(url(project), json=body(project_id=other.id))
    assert response.get_json()["error"] == "Project ID in body and URL must be the same"
    response = user_api.put(url(project, inventory.id), json=body(id=inventory.id + 1))
    assert response.status_code == 400
    assert response.get_json()["error"] == "Inventory ID in body and URL must be the same"


@pytest.mark.parametrize("raw", ["{oops", "[]", "3", "null"])
def test_malformed_or_non_object_body_is_400(user_api, project, raw):
    assert user_api.post(url(project), data=raw, content_type="application/json").status_code == 400
    inventory = factories.inventory(project=project)
    response = user_api.put(url(project, inventory.id), data=raw, content_type="application/json")
    assert response.status_code == 400


def test_failed_update_changes_nothing(user_api, project):
    inventory = factories.inventory(project=project, name="Keep", inventory="a")
    change = body(name="Changed", inventory="b", become_key_id=factories.key().id)
    assert user_api.put(url(project, inventory.id), json=change).status_code == 400
    db.session.expire_all()
    assert (inventory.name, inventory.inventory) == ("Keep", "a")
    assert events_of(project) == []


def test_unknown_or_foreign_inventory_is_404(user_api, project):
    foreign = factories.inventory(name="Theirs")
    for inventory_id in (999999, foreign.id):
        assert user_api.get(url(project, inventory_id)).status_code == 404
        assert user_api.put(url(project, inventory_id), json=body()).status_code == 404
        assert user_api.delete(url(project, inventory_id)).status_code == 404
    db.session.expire_all()
    assert foreign.name == "Theirs"


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_readers_cannot_write(app, project, role):
    client = member_client(app, project, role)
    inventory = factories.inventory(project=project, name="Keep")
    assert client.get(url(project)).status_code == 200
    assert client.get(url(project, inventory.id)).status_code == 200
    assert client.post(url(project), json=body()).status_code == 403
    assert client.put(url(project, inventory.id), json=body(name="x")).status_code == 403
    assert client.delete(url(project, inventory.id)).status_code == 403
    db.session.expire_all()
    assert inventory.name == "Keep" and count_inventories() == 1


def test_non_member_gets_404(app, project):
    outsider = factories.api_client(app, factories.user())
    inventory = factories.inventory(project=project)
    assert outsider.get(url(project)).status_code == 404
    assert outsider.get(url(project, inventory.id)).status_code == 404
    assert outsider.put(url(project, inventory.id), json=body()).status_code == 404


def test_answers_show_the_originals_fields_and_the_holder(user_api, project):
    created = user_api.post(url(project), json=body()).get_json()
    expected = {
        "id": created["id"],
        "name": "Hosts",
        "project_id": project.id,
        "inventory": "[web]\nweb1.example.com\n",
        "ssh_key_id": None,
        "become_key_id": None,
        "repository_id": None,
        "type": "static",
        "holder_id": None,
    }
    assert created == expected
    assert user_api.get(url(project, created["id"])).get_json() == expected
    assert user_api.get(url(project)).get_json() == [expected]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"type": "tofu-workspace"}, "Inventory type tofu-workspace is not supported"),
        (
            {"type": "file", "inventory": None},
            "inventory is required: the path of the inventory file",
        ),
        (
            {"type": "file", "inventory": "../x"},
            "Invalid inventory file pathname. Must be: path/to/inventory.",
        ),
        ({"type": "file", "inventory": "a" * 1025}, "inventory must be at most 1024 characters"),
        ({"type": "static", "inventory": 5}, "inventory must be a string"),
    ],
)
def test_refusals_name_the_field(user_api, project, fields, error):
    response = user_api.post(url(project), json=body(**fields))
    assert response.status_code == 400 and response.get_json()["error"] == error
