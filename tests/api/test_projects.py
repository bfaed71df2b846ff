"""/api/projects, /api/project/{id}, its role, members and events."""

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import AccessKey, Environment, Event, Project, ProjectUser
from tests import factories


def _owned_project(app, role="owner"):
    member = factories.user()
    project = factories.project(members={member: role})
    return project, factories.api_client(app, member), member


def test_admin_creates_a_project_with_defaults(admin_api, admin):
    response = admin_api.post(
        "/api/projects", json={"name": "Infra", "alert": True, "max_parallel_tasks": 3}
    )
    assert response.status_code == 201
    body = response.get_json()
    # As in the original, POST takes only name and type.
    assert body["name"] == "Infra" and body["alert"] is False and body["max_parallel_tasks"] == 0
    project_id = body["id"]
    assert db.session.get(ProjectUser, (project_id, admin.id)).role == "owner"
    keys = db.session.scalars(select(AccessKey).where(AccessKey.project_id == project_id)).all()
    assert [(k.name, k.type) for k in keys] == [("None", "none")]
    envs = db.session.scalars(select(Environment).where(Environment.project_id == project_id))
    assert [(e.name, e.json) for e in envs] == [("Empty", "{}")]
    event = db.session.scalar(select(Event).where(Event.project_id == project_id))
    assert event.object_type == "project" and "created" in event.description


def test_non_admin_cannot_create_projects(user_api):
    response = user_api.post("/api/projects", json={"name": "Mine"})
    assert response.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(Project)) == 0


@pytest.mark.parametrize("config_overrides", [{"non_admin_can_create_project": True}])
def test_non_admin_creates_projects_when_allowed(user_api):
    assert user_api.post("/api/projects", json={"name": "Mine"}).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": 7},
        {"name": "x", "type": []},
        {"name": "x" * 300},
    ],
)
def test_project_creation_refuses_bad_input(admin_api, body):
    response = admin_api.post("/api/projects", json=body)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Project)) == 0


def test_malformed_json_and_non_objects_are_refused(admin_api):
    assert admin_api.post("/api/projects", data="{nope").status_code == 400
    assert admin_api.post("/api/projects", json=["name"]).status_code == 400


def test_users_see_only_their_projects(app, admin):
    mine, client, _ = _owned_project(app, "guest")
    factories.project(name="Other")
    assert [p["id"] for p in client.get("/api/projects").get_json()] == [mine.id]


def test_admin_sees_every_project_sorted_by_name(admin_api):
    factories.project(name="b")
    factories.project(name="A")
    assert [p["name"] for p in admin_api.get("/api/projects").get_json()] == ["A", "b"]


def test_get_project_and_role(app):
    project, client, _ = _owned_project(app, "manager")
    assert client.get(f"/api/project/{project.id}").get_json()["name"] == project.name
    role = client.get(f"/api/project/{project.id}/role").get_json()
    assert role == {"role": "manager", "permissions": 5}


def test_admin_outside_the_project_has_no_role_but_every_permission(admin_api):
    project = factories.project()
    assert admin_api.get(f"/api/project/{project.id}/role").get_json() == {
        "role": "",
        "permissions": 15,
    }


def test_non_members_and_unknown_projects_get_404(app, user_api):
    project = factories.project()
    assert user_api.get(f"/api/project/{project.id}").status_code == 404
    assert user_api.get("/api/project/999999").status_code == 404
    assert user_api.put(f"/api/project/{project.id}", json={"name": "x"}).status_code == 404


def test_owner_updates_the_project(app):
    project, client, _ = _owned_project(app)
    body = {"name": "Renamed", "alert": True, "alert_chat": "chat", "max_parallel_tasks": 2}
    assert client.put(f"/api/project/{project.id}", json=body).status_code == 204
    db.session.expire_all()
    row = db.session.get(Project, project.id)
    assert (row.name, row.alert, row.alert_chat, row.max_parallel_tasks) == (
        "Renamed",
        True,
        "chat",
        2,
    )


def test_the_project_api_reads_and_changes_its_task_retention_days(app):
    project, client, _ = _owned_project(app)
    path = f"/api/project/{project.id}"
    assert client.get(path).get_json()["task_retention_days"] is None
    assert client.put(path, json={"name": "p", "task_retention_days": 7}).status_code == 204
    assert client.get(path).get_json()["task_retention_days"] == 7
    # The original's clients never send it: the project keeps its own.
    assert client.put(path, json={"name": "renamed"}).status_code == 204
    assert client.get(path).get_json()["task_retention_days"] == 7
    assert client.put(path, json={"name": "p", "task_retention_days": 0}).status_code == 204
    assert client.get(path).get_json()["task_retention_days"] == 0
    assert client.put(path, json={"name": "p", "task_retention_days": None}).status_code == 204
    assert client.get(path).get_json()["task_retention_days"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x", "task_retention_days": -1},
        {"name": "x", "task_retention_days": "a week"},
        {"name": "x", "alert": "yes"},
        {"name": "x", "max_parallel_tasks": -1},
        {"name": "x", "max_parallel_tasks": 1.5},
        {"name": "x", "alert_chat": "c" * 31},
        {"name": "x", "id": 999999},
    ],
)
def test_project_update_refuses_bad_input_and_changes_nothing(app, body):
    project, client, _ = _owned_project(app)
    assert client.put(f"/api/project/{project.id}", json=body).status_code == 400
    db.session.expire_all()
    assert db.session.get(Project, project.id).name == project.name


@pytest.mark.parametrize("role", ["manager", "task_runner", "guest"])
def test_only_owners_change_or_delete_the_project(app, role):
    project, client, _ = _owned_project(app, role)
    assert client.put(f"/api/project/{project.id}", json={"name": "x"}).status_code == 403
    assert client.delete(f"/api/project/{project.id}").status_code == 403


def test_owner_deletes_a_project_with_everything_in_it(app):
    project, client, _ = _owned_project(app)
    factories.schedule(project=project)
    project_id = project.id
    assert client.delete(f"/api/project/{project_id}").status_code == 204
    db.session.expire_all()
    assert db.session.get(Project, project_id) is None
    assert client.get(f"/api/project/{project_id}").status_code == 404


# Members ------------------------------------------------------------------------------------


def test_members_list_and_sort(app):
    project, client, owner = _owned_project(app)
    other = factories.user(name="Aaron")
    db.session.add(ProjectUser(project_id=project.id, user_id=other.id, role="guest"))
    db.session.commit()
    body = client.get(f"/api/project/{project.id}/users?sort=name&order=asc").get_json()
    assert [m["username"] for m in body] == [other.username, owner.username]
    assert body[0] == {"id": other.id, "username": other.username, "name": "Aaron", "role": "guest"}
    desc = client.get(f"/api/project/{project.id}/users?sort=role&order=desc").get_json()
    assert [m["role"] for m in desc] == ["owner", "guest"]


def test_owner_adds_changes_and_removes_a_member(app):
    project, client, _ = _owned_project(app)
    newcomer = factories.user()
    url = f"/api/project/{project.id}/users"
    assert client.post(url, json={"user_id": newcomer.id, "role": "guest"}).status_code == 204
    assert client.post(url, json={"user_id": newcomer.id, "role": "guest"}).status_code == 409
    assert client.put(f"{url}/{newcomer.id}", json={"role": "manager"}).status_code == 204
    db.session.expire_all()
    assert db.session.get(ProjectUser, (project.id, newcomer.id)).role == "manager"
    assert client.delete(f"{url}/{newcomer.id}").status_code == 204
    assert db.session.get(ProjectUser, (project.id, newcomer.id)) is None
    types = db.session.scalars(select(Event.object_type).where(Event.project_id == project.id))
    assert list(types).count("user") == 3


@pytest.mark.parametrize(
    "body",
    [
        {"role": "guest"},
        {"user_id": "1", "role": "guest"},
        {"user_id": 999999, "role": "guest"},
        {"user_id": None, "role": "admin"},
        {"role": "boss"},
    ],
)
def test_adding_members_refuses_bad_input(app, body):
    project, client, _ = _owned_project(app)
    newcomer = factories.user()
    if body.get("user_id") is None and "user_id" in body:
        body = {**body, "user_id": newcomer.id}
    assert client.post(f"/api/project/{project.id}/users", json=body).status_code == 400


def test_owner_cannot_change_own_role_and_last_owner_stays(app):
    project, client, owner = _owned_project(app)
    url = f"/api/project/{project.id}/users/{owner.id}"
    assert client.put(url, json={"role": "guest"}).status_code == 400
    assert client.delete(url).status_code == 400
    assert (
        client.put(f"/api/project/{project.id}/users/999999", json={"role": "guest"}).status_code
        == 404
    )


@pytest.mark.parametrize("role", ["manager", "task_runner", "guest"])
def test_only_owners_manage_members(app, role):
    project, client, member = _owned_project(app, role)
    other = factories.user()
    url = f"/api/project/{project.id}/users"
    assert client.get(url).status_code == 200
    assert client.post(url, json={"user_id": other.id, "role": "guest"}).status_code == 403
    assert client.put(f"{url}/{member.id}", json={"role": "owner"}).status_code == 403


def test_members_leave_but_owners_cannot(app):
    project, client, member = _owned_project(app, "guest")
    owner = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=owner.id, role="owner"))
    db.session.commit()
    owner_client = factories.api_client(app, owner)
    assert owner_client.delete(f"/api/project/{project.id}/me").status_code == 400
    assert client.delete(f"/api/project/{project.id}/me").status_code == 204
    assert client.get(f"/api/project/{project.id}").status_code == 404


# Events -------------------------------------------------------------------------------------


def test_events_of_a_project_and_of_the_user(app, admin_api):
    project, client, _ = _owned_project(app)
    client.put(f"/api/project/{project.id}", json={"name": "Renamed"})
    factories.project(name="Unrelated")
    admin_api.post("/api/projects", json={"name": "Admin's"})
    project_events = client.get(f"/api/project/{project.id}/events").get_json()
    assert [e["description"] for e in project_events] == ["Project Renamed updated"]
    assert project_events[0]["username"] and project_events[0]["project_name"] == "Renamed"
    mine = client.get("/api/events").get_json()
    assert {e["project_id"] for e in mine} == {project.id}
    assert len(client.get("/api/events/last").get_json()) == 1
    assert len(admin_api.get("/api/events").get_json()) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # The id is checked before the other fields.
        ({"id": 999999, "name": 5}, "Project ID in body and URL must be the same"),
        ({"id": "x", "name": 5}, "id must be an integer"),
        ({"name": "x", "max_parallel_tasks": -(2**40)}, "max_parallel_tasks must be at least 0"),
        ({"name": "x", "max_parallel_tasks": 2**40}, "max_parallel_tasks is out of range"),
        ({"name": "x", "type": "t" * 33}, "type must be at most 32 characters"),
    ],
)
def test_project_update_errors_name_the_first_problem(app, body, message):
    project, client, _ = _owned_project(app)
    response = client.put(f"/api/project/{project.id}", json=body)
    assert (response.status_code, response.get_json()["error"]) == (400, message)


def test_a_null_type_clears_it_and_an_absent_one_keeps_it(app):
    project, client, _ = _owned_project(app)
    client.put(f"/api/project/{project.id}", json={"name": "x", "type": "infra"})
    client.put(f"/api/project/{project.id}", json={"name": "x"})
    assert client.get(f"/api/project/{project.id}").get_json()["type"] == "infra"
    client.put(f"/api/project/{project.id}", json={"name": "x", "type": None})
    assert client.get(f"/api/project/{project.id}").get_json()["type"] == ""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"role": "guest"}, "user_id is required"),
        ({"user_id": 2, "role": " "}, "role is required"),
        ({"user_id": 2, "role": "boss"}, "role must be one of owner, manager, task_runner, guest"),
    ],
)
def test_member_errors(app, body, message):
    project, client, _ = _owned_project(app)
    response = client.post(f"/api/project/{project.id}/users", json=body)
    assert (response.status_code, response.get_json()["error"]) == (400, message)
