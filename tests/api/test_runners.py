"""/api/runners… (admins) and /api/project/{id}/runners… (members read, managers change): the
runner management API of the contract. The runner protocol is tested elsewhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Event, ProjectUser, Runner
from semaphore.security.tokens import digest
from tests import factories

RUNNER = {
    "name": "dmz runner",
    "webhook": "https://runners.example.com/hook",
    "max_parallel_tasks": 3,
    "active": True,
    "tags": ["linux", "dmz"],
}
ROLES = ("owner", "manager", "task_runner", "guest")


def events(object_id: int) -> list[str]:
    query = select(Event.description).where(
        Event.object_type == "runner", Event.object_id == object_id
    )
    return list(db.session.scalars(query.order_by(Event.id)))


def create(client, url="/api/runners", **fields):
    response = client.post(url, json={**RUNNER, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- global runners -----------------------------------------------------------------------------


def test_create_answers_the_token_once_and_stores_only_its_digest(admin_api):
    created = create(admin_api)
    token = created.pop("token")
    assert len(token) == 44  # 32 bytes, base64
    assert created == {
        "id": created["id"],
        "project_id": None,
        "name": "dmz runner",
        "webhook": "https://runners.example.com/hook",
        "max_parallel_tasks": 3,
        "active": True,
        "is_default": False,
        "tags": ["linux", "dmz"],
        "touched": None,
        "cleaning_requested": None,
        "registered": True,
        "private_key": "",
    }
    row = db.session.get(Runner, created["id"])
    assert row.token_hash == digest(token)
    shown = admin_api.get(f"/api/runners/{created['id']}").get_json()
    assert shown["token"] == "" and shown["registered"] is True
    listed = admin_api.get("/api/runners").get_json()
    assert [r["id"] for r in listed] == [created["id"]]
    assert "token" not in listed[0]
    assert token not in admin_api.get("/api/runners").get_data(as_text=True)
    assert events(created["id"]) == ["Runner dmz runner created"]


def test_a_runner_created_without_active_is_inactive(admin_api):
    created = create(admin_api, active=None, name="")
    assert created["active"] is False
    assert events(created["id"]) == [f"Runner {created['id']} created"]


def test_update_replaces_the_settings_and_keeps_the_state_unless_given(admin_api):
    runner_id = create(admin_api)["id"]
    body = {"name": "renamed", "tags": ["arm"], "max_parallel_tasks": 0, "is_default": True}
    assert admin_api.put(f"/api/runners/{runner_id}", json=body).status_code == 204
    shown = admin_api.get(f"/api/runners/{runner_id}").get_json()
    assert (shown["name"], shown["tags"], shown["webhook"]) == ("renamed", ["arm"], "")
    assert (shown["max_parallel_tasks"], shown["is_default"], shown["active"]) == (0, True, True)
    # The original's router takes POST as PUT.
    response = admin_api.post(f"/api/runners/{runner_id}", json={"name": "again", "active": False})
    assert response.status_code == 204
    shown = admin_api.get(f"/api/runners/{runner_id}").get_json()
    assert (shown["name"], shown["active"], shown["registered"]) == ("again", False, True)
    assert events(runner_id)[1:] == ["Runner renamed updated", "Runner again updated"]


def test_activate_and_deactivate(admin_api):
    runner_id = create(admin_api, active=False)["id"]
    url = f"/api/runners/{runner_id}/active"
    assert admin_api.post(url, json={"active": True}).status_code == 204
    assert db.session.get(Runner, runner_id).active is True
    assert admin_api.post(url, json={"active": False}).status_code == 204
    db.session.expire_all()
    assert db.session.get(Runner, runner_id).active is False
    assert events(runner_id)[1:] == ["Runner dmz runner activated", "Runner dmz runner deactivated"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "active is required"),
        ({"active": "yes"}, "active must be true or false"),
        ([True], "Request body must be a JSON object"),
    ],
)
def test_active_needs_a_boolean(admin_api, body, message):
    runner_id = create(admin_api)["id"]
    response = admin_api.post(f"/api/runners/{runner_id}/active", json=body)
    assert (response.status_code, response.get_json()) == (400, {"error": message})


def test_delete_then_404(admin_api):
    runner_id = create(admin_api)["id"]
    assert admin_api.delete(f"/api/runners/{runner_id}").status_code == 204
    assert db.session.get(Runner, runner_id) is None
    for method in ("GET", "PUT", "DELETE"):
        response = admin_api.open(method, f"/api/runners/{runner_id}", json=RUNNER)
        assert (response.status_code, response.get_json()) == (404, {"error": "Runner not found"})
    assert events(runner_id)[-1] == "Runner dmz runner deleted"


def test_unknown_ids_are_404(admin_api):
    for method, path in [
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("POST", "/active"),
        ("POST", "/registration-token"),
        ("DELETE", "/cache"),
    ]:
        response = admin_api.open(method, f"/api/runners/999{path}", json={"active": True})
        assert response.status_code == 404, (method, path)


def test_an_unregistered_runner_gets_a_registration_token(admin_api):
    created = create(admin_api, registered=False, active=True)
    assert (created["token"], created["registered"], created["active"]) == ("", False, False)
    url = f"/api/runners/{created['id']}/registration-token"
    first = admin_api.post(url)
    assert first.status_code == 200
    answer = first.get_json()
    assert answer["runner_id"] == created["id"] and answer["project_id"] is None
    row = db.session.get(Runner, created["id"])
    assert row.registration_token_hash == digest(answer["registration_token"])
    assert row.token_hash is None
    # A new one replaces it.
    second = admin_api.post(url).get_json()["registration_token"]
    assert second != answer["registration_token"]
    db.session.expire_all()
    assert db.session.get(Runner, created["id"]).registration_token_hash == digest(second)


def test_a_registered_runner_gets_no_registration_token(admin_api):
    runner_id = create(admin_api)["id"]
    response = admin_api.post(f"/api/runners/{runner_id}/registration-token")
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "Runner is already registered"},
    )
    assert db.session.get(Runner, runner_id).registration_token_hash is None


def test_clear_cache_asks_the_runner(admin_api):
    runner_id = create(admin_api)["id"]
    assert admin_api.delete(f"/api/runners/{runner_id}/cache").status_code == 204
    shown = admin_api.get(f"/api/runners/{runner_id}").get_json()
    assert shown["cleaning_requested"].endswith("Z")
    assert events(runner_id)[-1] == "Runner dmz runner cache clearing requested"


def test_runner_tags_count_the_global_runners(admin_api):
    create(admin_api, tags=["linux", "dmz", "linux"])
    create(admin_api, tags=[" linux "])
    create(admin_api, tags=[])
    project = factories.project()
    create(admin_api, url=f"/api/project/{project.id}/runners", tags=["project-only"])
    assert admin_api.get("/api/runner_tags").get_json() == [
        {"tag": "dmz", "number_of_runners": 1},
        {"tag": "linux", "number_of_runners": 2},
    ]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"name": 5}, "name must be a string"),
        ({"name": "x" * 256}, "name must be at most 255 characters"),
        ({"webhook": "ftp://example.com/x"}, "webhook must be an http or https URL"),
        ({"webhook": "http://[::1"}, "webhook must be an http or https URL"),
        ({"webhook": "not a url"}, "webhook must be an http or https URL"),
        ({"max_parallel_tasks": -1}, "max_parallel_tasks must be at least 0"),
        ({"max_parallel_tasks": "2"}, "max_parallel_tasks must be an integer"),
        ({"active": 1}, "active must be true or false"),
        ({"is_default": "no"}, "is_default must be true or false"),
        ({"registered": "no"}, "registered must be true or false"),
        ({"tags": "linux"}, "tags must be an array of strings"),
        ({"tags": ["linux", 5]}, "tags must be an array of strings"),
        ({"tags": ["  "]}, "tags must not hold an empty tag"),
        ({"tags": ["two words"]}, "tags must hold tags without spaces or commas"),
        ({"tags": ["a,b"]}, "tags must hold tags without spaces or commas"),
        ({"tags": ["x" * 65]}, "tags must hold tags of at most 64 characters"),
        ({"tags": [f"t{n}" for n in range(51)]}, "tags must hold at most 50 tags"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(admin_api, body, message):
    response = admin_api.post("/api/runners", json={**RUNNER, **body})
    assert (response.status_code, response.get_json()) == (400, {"error": message})
    runner_id = create(admin_api)["id"]
    response = admin_api.put(f"/api/runners/{runner_id}", json={**RUNNER, **body})
    assert (response.status_code, response.get_json()) == (400, {"error": message})
    assert db.session.scalar(select(Runner.name).where(Runner.id == runner_id)) == "dmz runner"


def test_a_body_that_is_not_an_object_is_400(admin_api):
    for body in ([], "runner", None):
        response = admin_api.post("/api/runners", json=body)
        assert response.status_code == 400
        assert response.get_json()["error"].startswith("Request body")
    response = admin_api.post("/api/runners", data="{", content_type="application/json")
    assert response.status_code == 400


def test_a_global_runners_project_id_is_ignored(admin_api):
    project = factories.project()
    created = create(admin_api, project_id=project.id)
    assert created["project_id"] is None


def test_global_routes_do_not_reach_project_runners(admin_api):
    project = factories.project()
    runner_id = create(admin_api, url=f"/api/project/{project.id}/runners")["id"]
    assert admin_api.get("/api/runners").get_json() == []
    assert admin_api.get(f"/api/runners/{runner_id}").status_code == 404
    assert admin_api.delete(f"/api/runners/{runner_id}").status_code == 404


GLOBAL_ROUTES = [
    ("GET", "/api/runners", 200),
    ("POST", "/api/runners", 201),
    ("GET", "/api/runner_tags", 200),
    ("GET", "/api/runners/{id}", 200),
    ("PUT", "/api/runners/{id}", 204),
    ("POST", "/api/runners/{id}", 204),
    ("POST", "/api/runners/{id}/active", 204),
    ("POST", "/api/runners/{new_id}/registration-token", 200),
    ("DELETE", "/api/runners/{id}/cache", 204),
    ("DELETE", "/api/runners/{id}", 204),
]


@pytest.mark.parametrize("caller", ["admin", *ROLES, "outsider", "anonymous"])
@pytest.mark.parametrize("method, path, success", GLOBAL_ROUTES, ids=lambda x: str(x))
def test_global_runners_are_for_admins_only(app, api, admin, caller, method, path, success):
    runner = Runner(name="r", token_hash="a" * 64, active=True, tags=["linux"])
    new = Runner(name="new")
    db.session.add_all([runner, new])
    db.session.commit()
    if caller == "admin":
        client = factories.api_client(app, admin)
    elif caller == "anonymous":
        client = api
    else:
        user = factories.user()
        if caller != "outsider":
            factories.project(members={user: caller})
        client = factories.api_client(app, user)
    url = path.format(id=runner.id, new_id=new.id)
    response = client.open(method, url, json={"name": "x", "active": False})
    expected = {"admin": success, "anonymous": 401}.get(caller, 403)
    assert response.status_code == expected, response.get_json()
    if expected == 403:
        assert response.get_json() == {"error": "User must be admin"}
        db.session.expire_all()
        assert db.session.scalar(select(Runner.name).where(Runner.id == runner.id)) == "r"
        assert db.session.scalars(select(Event)).all() == []


# --- project runners ---------------------------------------------------------------------------


@pytest.fixture
def manager(app):
    return factories.user()


@pytest.fixture
def project(manager):
    return factories.project(members={manager: "manager"})


@pytest.fixture
def manager_api(app, manager):
    return factories.api_client(app, manager)


def purl(project, runner_id=None, suffix=""):
    base = f"/api/project/{project.id}/runners"
    return (base if runner_id is None else f"{base}/{runner_id}") + suffix


def test_project_runner_crud(manager_api, project):
    created = create(manager_api, url=purl(project), project_id=project.id)
    assert created["project_id"] == project.id and created["token"]
    runner_id = created["id"]
    shown = manager_api.get(purl(project, runner_id)).get_json()
    assert shown["token"] == "" and shown["name"] == "dmz runner"
    assert [r["id"] for r in manager_api.get(purl(project)).get_json()] == [runner_id]
    body = {"name": "renamed", "project_id": project.id, "id": runner_id}
    assert manager_api.put(purl(project, runner_id), json=body).status_code == 204
    assert (
        manager_api.post(purl(project, runner_id, "/active"), json={"active": False}).status_code
        == 204
    )
    assert manager_api.delete(purl(project, runner_id, "/cache")).status_code == 204
    shown = manager_api.get(purl(project, runner_id)).get_json()
    assert (shown["name"], shown["active"]) == ("renamed", False)
    assert shown["cleaning_requested"] is not None
    assert manager_api.delete(purl(project, runner_id)).status_code == 204
    assert manager_api.get(purl(project, runner_id)).status_code == 404
    query = select(Event.description, Event.project_id).where(Event.object_id == runner_id)
    assert [tuple(row) for row in db.session.execute(query.order_by(Event.id))] == [
        ("Runner dmz runner created", project.id),
        ("Runner renamed updated", project.id),
        ("Runner renamed deactivated", project.id),
        ("Runner renamed cache clearing requested", project.id),
        ("Runner renamed deleted", project.id),
    ]


def test_project_registration_token(manager_api, project):
    created = create(manager_api, url=purl(project), registered=False)
    response = manager_api.post(purl(project, created["id"], "/registration-token"))
    assert response.status_code == 200
    assert response.get_json()["project_id"] == project.id
    registered = create(manager_api, url=purl(project))
    response = manager_api.post(purl(project, registered["id"], "/registration-token"))
    assert response.status_code == 400


def test_a_project_runners_body_must_name_its_project(manager_api, project):
    other = factories.project()
    response = manager_api.post(purl(project), json={**RUNNER, "project_id": other.id})
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "Project ID in body and URL must be the same"},
    )
    runner_id = create(manager_api, url=purl(project))["id"]
    response = manager_api.put(purl(project, runner_id), json={"id": runner_id + 1})
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "Runner ID in body and URL must be the same"},
    )
    response = manager_api.put(purl(project, runner_id), json={"tags": [""]})
    assert (response.status_code, response.get_json()) == (
        400,
        {"error": "tags must not hold an empty tag"},
    )


def test_project_runners_are_isolated(app, admin_api, manager_api, manager, project):
    other = factories.project(members={manager: "owner"})
    own = create(manager_api, url=purl(project), tags=["mine"])["id"]
    theirs = create(manager_api, url=purl(other), tags=["theirs"])["id"]
    tagged = create(admin_api, tags=["linux"], webhook="https://secret.example.com/k=1")["id"]
    untagged = create(admin_api, tags=[])["id"]
    listed = manager_api.get(purl(project)).get_json()
    assert [r["id"] for r in listed] == [own, tagged]
    # A global runner's webhook is the administrators' business.
    assert listed[1]["project_id"] is None and listed[1]["webhook"] == ""
    assert untagged not in [r["id"] for r in listed]
    for runner_id in (theirs, tagged, untagged):
        for method, suffix in [
            ("GET", ""),
            ("PUT", ""),
            ("DELETE", ""),
            ("POST", "/active"),
            ("POST", "/registration-token"),
            ("DELETE", "/cache"),
        ]:
            response = manager_api.open(
                method, purl(project, runner_id, suffix), json={"active": True}
            )
            assert response.status_code == 404, (runner_id, method, suffix)
    assert manager_api.get(purl(project)).status_code == 200
    assert manager_api.get(f"/api/project/{project.id}/runner_tags").get_json() == [
        {"tag": "linux", "number_of_runners": 1},
        {"tag": "mine", "number_of_runners": 1},
    ]
    db.session.expire_all()
    assert db.session.get(Runner, theirs).active is True


@pytest.mark.parametrize("caller", ["admin", *ROLES, "outsider"])
def test_project_runner_roles(app, admin, project, caller):
    runner = Runner(project_id=project.id, name="r", token_hash="b" * 64, tags=["x"])
    db.session.add(runner)
    db.session.commit()
    if caller == "admin":
        user = admin
    else:
        user = factories.user()
        if caller != "outsider":
            db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=caller))
            db.session.commit()
    client = factories.api_client(app, user)
    may_read = caller != "outsider"
    may_change = caller in ("admin", "owner", "manager")
    read = 200 if may_read else 404
    refused = 403 if may_read else 404
    assert client.get(purl(project)).status_code == read
    assert client.get(purl(project, runner.id)).status_code == read
    assert client.get(f"/api/project/{project.id}/runner_tags").status_code == read
    status = client.post(purl(project), json=RUNNER).status_code
    assert status == (201 if may_change else refused)
    status = client.put(purl(project, runner.id), json={"name": "x"}).status_code
    assert status == (204 if may_change else refused)
    status = client.delete(purl(project, runner.id)).status_code
    assert status == (204 if may_change else refused)
