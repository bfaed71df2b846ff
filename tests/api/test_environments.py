"""/api/project/{id}/environment: variables, sealed secrets, roles, in-use deletes."""

import base64
import json

import pytest
from sqlalchemy import func, select, text

from semaphore.extensions import db
from semaphore.models import AccessKey, Environment, Event, ProjectUser
from semaphore.services import environments
from semaphore.services.permissions import project_access
from tests import factories

PLAINTEXT = "hunter2-very-secret-value"


@pytest.fixture
def project(user_api):
    """A project that the `user_api` user manages."""
    return factories.project(members={user_api.user: "manager"})


def url(project, environment_id=None):
    base = f"/api/project/{project.id}/environment"
    return base if environment_id is None else f"{base}/{environment_id}"


def body(**fields):
    data = {"name": "Production", "json": '{"region": "eu"}', "env": '{"DEBUG": "0"}'}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def secret(name, value=PLAINTEXT, secret_type="var", operation="create", **fields):
    return {"type": secret_type, "name": name, "secret": value, "operation": operation, **fields}


def events_of(project):
    query = select(Event).where(Event.project_id == project.id, Event.object_type == "environment")
    return list(db.session.scalars(query.order_by(Event.id)))


def count_environments():
    return db.session.scalar(select(func.count()).select_from(Environment))


def secret_keys(environment_id):
    query = select(AccessKey).where(AccessKey.environment_id == environment_id)
    return list(db.session.scalars(query.order_by(AccessKey.id)))


def values(environment_id):
    """The decrypted secrets, as the task engine will read them."""
    return sorted(environments.secret_values(db.session.get(Environment, environment_id)))


def member_client(app, project, role):
    """An API client of a new user holding `role` in the project."""
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    return factories.api_client(app, member)


def create(user_api, project, **fields):
    response = user_api.post(url(project), json=body(**fields))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_environment_with_secrets(user_api, project):
    data = body(
        project_id=project.id,
        password=None,
        secrets=[secret("db_password"), secret("API_TOKEN", "tok-123", "env")],
    )
    response = user_api.post(url(project), json=data)
    assert response.status_code == 201
    created = response.get_json()
    assert {k: created[k] for k in ("name", "project_id", "json", "env", "password")} == {
        "name": "Production",
        "project_id": project.id,
        "json": '{"region": "eu"}',
        "env": '{"DEBUG": "0"}',
        "password": None,
    }
    assert sorted((s["type"], s["name"], s["secret"]) for s in created["secrets"]) == [
        ("env", "API_TOKEN", ""),
        ("var", "db_password", ""),
    ]
    assert PLAINTEXT not in response.get_data(as_text=True)
    keys = secret_keys(created["id"])
    assert sorted(k.name for k in keys) == ["env.API_TOKEN", "var.db_password"]
    assert {k.type for k in keys} == {"string"} and {k.project_id for k in keys} == {project.id}
    assert values(created["id"]) == [
        ("env", "API_TOKEN", "tok-123"),
        ("var", "db_password", PLAINTEXT),
    ]
    [event] = events_of(project)
    assert (event.object_id, event.description) == (created["id"], "Environment Production created")


def test_secrets_are_sealed_in_the_database(user_api, project):
    created = create(user_api, project, secrets=[secret("db_password")])
    rows = db.session.execute(
        text("SELECT name, type, secret FROM access_key WHERE environment_id = :id"),
        {"id": created["id"]},
    ).all()
    assert len(rows) == 1
    name, key_type, stored = rows[0]
    assert (name, key_type) == ("var.db_password", "string")
    assert stored and PLAINTEXT not in stored
    assert base64.b64encode(PLAINTEXT.encode()).decode() not in stored


def test_secrets_never_come_back(user_api, project):
    created = create(user_api, project, secrets=[secret("db_password")])
    one = user_api.get(url(project, created["id"]))
    listed = user_api.get(url(project))
    keys = user_api.get(f"/api/project/{project.id}/keys")
    for response in (one, listed, keys):
        assert response.status_code == 200
        assert PLAINTEXT not in response.get_data(as_text=True)
    [shown] = one.get_json()["secrets"]
    assert shown == {"id": shown["id"], "type": "var", "name": "db_password", "secret": ""}
    assert all(e["secrets"] is None for e in listed.get_json())
    assert keys.get_json() == []


def test_list_and_sort_environments(user_api, project):
    for name in ("beta", "Alpha", "gamma"):
        factories.environment(project=project, name=name)
    factories.environment(name="elsewhere")

    def names(query=""):
        response = user_api.get(url(project) + query)
        assert response.status_code == 200
        return [e["name"] for e in response.get_json()]

    assert names() == ["Alpha", "beta", "gamma"]
    assert names("?sort=name&order=desc") == ["gamma", "beta", "Alpha"]


def test_get_environment_without_secrets(user_api, project):
    environment = factories.environment(project=project, name="Plain", json='{"a": 1}')
    body_ = user_api.get(url(project, environment.id)).get_json()
    assert (body_["name"], body_["json"], body_["env"], body_["secrets"]) == (
        "Plain",
        '{"a": 1}',
        None,
        [],
    )


def test_update_environment_and_its_secrets(user_api, project):
    created = create(
        user_api,
        project,
        secrets=[secret("keep"), secret("rename_me", "old-value"), secret("drop_me")],
    )
    ids = {s["name"]: s["id"] for s in created["secrets"]}
    change = body(
        id=created["id"],
        project_id=project.id,
        name="Staging",
        json="{}",
        env=None,
        secrets=[
            {"id": ids["keep"], "type": "var", "name": "keep", "secret": ""},
            secret("renamed", "", "env", "update", id=ids["rename_me"]),
            secret("", "", "var", "delete", id=ids["drop_me"]),
            secret("brand_new", "new-value"),
        ],
    )
    assert user_api.put(url(project, created["id"]), json=change).status_code == 204
    environment = db.session.get(Environment, created["id"])
    assert (environment.name, environment.json, environment.env) == ("Staging", "{}", None)
    assert values(created["id"]) == [
        ("env", "renamed", "old-value"),
        ("var", "brand_new", "new-value"),
        ("var", "keep", PLAINTEXT),
    ]
    assert [e.description for e in events_of(project)] == [
        "Environment Production created",
        "Environment Staging updated",
    ]


def test_update_replaces_a_secret_value(user_api, project):
    created = create(user_api, project, secrets=[secret("token", "v1")])
    [item] = created["secrets"]
    change = body(secrets=[secret("token", "v2", operation="update", id=item["id"])])
    assert user_api.put(url(project, created["id"]), json=change).status_code == 204
    assert values(created["id"]) == [("var", "token", "v2")]


def test_environment_secrets_service(user_api, project):
    created = create(user_api, project, secrets=[secret("a"), secret("B", secret_type="env")])
    access = project_access(user_api.user, project.id)
    environment = db.session.get(Environment, created["id"])
    shown = environments.environment_secrets(access, environment)
    assert [(s.type, s.name) for s in shown] == [("var", "a"), ("env", "B")]
    assert all(not hasattr(s, "secret") for s in shown)


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"name": " "},
        {"name": 1},
        {"json": None},
        {"json": ""},
        {"json": "{not json"},
        {"json": "[1, 2]"},
        {"json": '"text"'},
        {"json": {"a": 1}},
        {"json": '{"": 1}'},
        {"env": "nope"},
        {"env": "[]"},
        {"env": '{"A": {"nested": 1}}'},
        {"env": 5},
        {"password": 5},
        {"secrets": "x"},
        {"secrets": [1]},
        {"secrets": [secret("1abc")]},
        {"secrets": [secret("has space")]},
        {"secrets": [secret("a.b")]},
        {"secrets": [secret("")]},
        {"secrets": [secret("ok", secret_type="file")]},
        {"secrets": [secret("ok", operation="upsert")]},
        {"secrets": [secret("ok", value=5)]},
        {"secrets": [secret("ok"), secret("ok")]},
        {"secrets": [secret("ok", operation="update", id=1)]},
        {"secrets": [secret("ok", operation="delete", id=1)]},
    ],
)
def test_create_with_bad_fields_is_400(user_api, project, change):
    response = user_api.post(url(project), json=body(**change))
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert count_environments() == 0
    assert db.session.scalar(select(func.count()).select_from(AccessKey)) == 0
    assert events_of(project) == []


def test_same_name_of_different_types_is_fine(user_api, project):
    created = create(user_api, project, secrets=[secret("X"), secret("X", secret_type="env")])
    assert len(created["secrets"]) == 2


def test_items_without_operation_are_left_alone(user_api, project):
    created = create(user_api, project, secrets=[secret("a", operation=None)])
    assert created["secrets"] == []


def test_secret_of_another_environment_cannot_be_touched(user_api, project):
    mine = create(user_api, project, name="Mine", secrets=[secret("a", "mine")])
    theirs = create(user_api, project, name="Theirs", secrets=[secret("b", "theirs")])
    [their_secret] = theirs["secrets"]
    for operation in ("update", "delete"):
        change = body(
            name="Changed",
            secrets=[secret("b", "hijacked", operation=operation, id=their_secret["id"])],
        )
        response = user_api.put(url(project, mine["id"]), json=change)
        assert response.status_code == 400
        assert "does not belong to this environment" in response.get_json()["error"]
    assert values(theirs["id"]) == [("var", "b", "theirs")]
    assert db.session.get(Environment, mine["id"]).name == "Mine"


def test_plain_key_cannot_be_used_as_a_secret(user_api, project):
    created = create(user_api, project)
    key = factories.key(project=project)
    change = body(secrets=[secret("a", operation="delete", id=key.id)])
    assert user_api.put(url(project, created["id"]), json=change).status_code == 400
    assert db.session.get(AccessKey, key.id) is not None


def test_failed_update_changes_nothing(user_api, project):
    created = create(user_api, project, secrets=[secret("a", "one")])
    [item] = created["secrets"]
    change = body(
        name="Changed",
        json='{"changed": true}',
        secrets=[
            secret("a", "two", operation="update", id=item["id"]),
            secret("b", "new"),
            secret("bad name"),
        ],
    )
    assert user_api.put(url(project, created["id"]), json=change).status_code == 400
    db.session.expire_all()
    environment = db.session.get(Environment, created["id"])
    assert (environment.name, environment.json) == ("Production", '{"region": "eu"}')
    assert values(created["id"]) == [("var", "a", "one")]
    assert len(events_of(project)) == 1


def test_renaming_onto_an_existing_secret_is_400(user_api, project):
    created = create(user_api, project, secrets=[secret("a"), secret("b")])
    ids = {s["name"]: s["id"] for s in created["secrets"]}
    change = body(secrets=[secret("a", "", operation="update", id=ids["b"])])
    assert user_api.put(url(project, created["id"]), json=change).status_code == 400
    swap = body(
        secrets=[
            secret("b", "", operation="update", id=ids["a"]),
            secret("a", "", operation="update", id=ids["b"]),
        ]
    )
    assert user_api.put(url(project, created["id"]), json=swap).status_code == 204
    assert values(created["id"]) == [("var", "a", PLAINTEXT), ("var", "b", PLAINTEXT)]


def test_body_ids_must_match(user_api, project):
    environment = factories.environment(project=project)
    other = factories.project()
    response = user_api.post(url(project), json=body(project_id=other.id))
    assert response.get_json()["error"] == "Project ID in body and URL must be the same"
    response = user_api.put(url(project, environment.id), json=body(id=environment.id + 1))
    assert response.status_code == 400
    assert response.get_json()["error"] == "Environment ID in body and URL must be the same"


@pytest.mark.parametrize("raw", ["{oops", "[]", "true", "null"])
def test_malformed_or_non_object_body_is_400(user_api, project, raw):
    assert user_api.post(url(project), data=raw, content_type="application/json").status_code == 400
    environment = factories.environment(project=project)
    response = user_api.put(url(project, environment.id), data=raw, content_type="application/json")
    assert response.status_code == 400


def test_delete_environment_and_its_secrets(user_api, project):
    created = create(user_api, project, secrets=[secret("a")])
    assert user_api.delete(url(project, created["id"])).status_code == 204
    assert db.session.get(Environment, created["id"]) is None
    assert secret_keys(created["id"]) == []
    assert events_of(project)[-1].description == "Environment Production deleted"


def test_environment_in_use_cannot_be_deleted(user_api, project):
    environment = factories.environment(project=project)
    first = factories.template(project=project, name="uses it first", environment_id=environment.id)
    other = factories.environment(project=project)
    repository = factories.repository(project=project)
    later = user_api.post(
        f"/api/project/{project.id}/templates",
        json={
            "name": "uses it second",
            "app": "bash",
            "playbook": "x.sh",
            "repository_id": repository.id,
            "environment_ids": [other.id, environment.id],
        },
    ).get_json()
    response = user_api.delete(url(project, environment.id))
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "Environment is in use by template 'uses it first' and template 'uses it second'",
        "inUse": True,
        "used_by": [
            {"kind": "template", "id": first.id, "name": "uses it first"},
            {"kind": "template", "id": later["id"], "name": "uses it second"},
        ],
    }
    refs = user_api.get(url(project, environment.id) + "/refs").get_json()
    assert [item["id"] for item in refs["templates"]] == [first.id, later["id"]]
    assert refs["inventories"] == refs["repositories"] == refs["integrations"] == []
    assert db.session.get(Environment, environment.id) is not None


def test_unknown_or_foreign_environment_is_404(user_api, project):
    foreign = factories.environment(name="Theirs")
    for environment_id in (999999, foreign.id):
        assert user_api.get(url(project, environment_id)).status_code == 404
        assert user_api.put(url(project, environment_id), json=body()).status_code == 404
        assert user_api.delete(url(project, environment_id)).status_code == 404
    db.session.expire_all()
    assert foreign.name == "Theirs"


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_readers_cannot_write(app, project, role):
    client = member_client(app, project, role)
    environment = factories.environment(project=project, name="Keep")
    assert client.get(url(project)).status_code == 200
    assert client.get(url(project, environment.id)).status_code == 200
    assert client.post(url(project), json=body()).status_code == 403
    assert client.put(url(project, environment.id), json=body(name="x")).status_code == 403
    assert client.delete(url(project, environment.id)).status_code == 403
    db.session.expire_all()
    assert environment.name == "Keep" and count_environments() == 1


def test_non_member_gets_404(app, project):
    outsider = factories.api_client(app, factories.user())
    environment = factories.environment(project=project)
    assert outsider.get(url(project)).status_code == 404
    assert outsider.get(url(project, environment.id)).status_code == 404
    assert outsider.post(url(project), json=body()).status_code == 404


def test_json_is_kept_as_sent(user_api, project):
    extra = json.dumps({"nested": {"list": [1, 2]}, "flag": True}, indent=2)
    created = create(user_api, project, json=extra, env="")
    assert (created["json"], created["env"]) == (extra, "")


def test_secret_errors_name_the_item(user_api, project):
    response = user_api.post(url(project), json=body(secrets=[secret("ok"), secret("")]))
    assert response.get_json()["error"] == "secrets[1].name is required"
    response = user_api.post(url(project), json=body(secrets=[secret("A"), secret("A")]))
    assert response.get_json()["error"].startswith("secrets[0].name: this environment already")


def test_answers_show_exactly_the_originals_fields(user_api, project):
    created = create(user_api, project, password="vault", secrets=[secret("TOKEN")])
    secret_id = secret_keys(created["id"])[0].id
    expected = {
        "id": created["id"],
        "name": "Production",
        "project_id": project.id,
        "password": "vault",
        "json": '{"region": "eu"}',
        "env": '{"DEBUG": "0"}',
        "secrets": [{"id": secret_id, "type": "var", "name": "TOKEN", "secret": ""}],
    }
    assert created == expected
    assert user_api.get(url(project, created["id"])).get_json() == expected
    # Lists carry no secrets at all: null, as the original's.
    assert user_api.get(url(project)).get_json() == [{**expected, "secrets": None}]


def test_an_item_without_an_operation_is_not_read(user_api, project):
    ignored = {"id": "x", "type": 5, "name": None}
    created = create(user_api, project, secrets=[ignored, secret("TOKEN")])
    assert [s["name"] for s in created["secrets"]] == ["TOKEN"]
