"""/api/project/{id}/repositories: CRUD, validation, roles, in-use deletes, events."""

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import Event, ProjectUser, Repository
from tests import factories


@pytest.fixture
def project(user_api):
    """A project that the `user_api` user manages."""
    return factories.project(members={user_api.user: "manager"})


@pytest.fixture
def key(project):
    return factories.key(project=project, name="Deploy key")


def url(project, repository_id=None):
    base = f"/api/project/{project.id}/repositories"
    return base if repository_id is None else f"{base}/{repository_id}"


def body(key, **fields):
    data = {
        "name": "Playbooks",
        "git_url": "https://example.com/playbooks.git",
        "git_branch": "main",
        "ssh_key_id": key.id,
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def events_of(project, object_type="repository"):
    query = select(Event).where(Event.project_id == project.id, Event.object_type == object_type)
    return list(db.session.scalars(query.order_by(Event.id)))


def member_client(app, project, role):
    """An API client of a new user holding `role` in the project."""
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    return factories.api_client(app, member)


def count_repositories():
    return db.session.scalar(select(func.count()).select_from(Repository))


def test_create_repository(user_api, project, key):
    response = user_api.post(url(project), json=body(key, project_id=project.id))
    assert response.status_code == 201
    created = response.get_json()
    assert created == {
        "id": created["id"],
        "name": "Playbooks",
        "project_id": project.id,
        "git_url": "https://example.com/playbooks.git",
        "git_branch": "main",
        "ssh_key_id": key.id,
    }
    stored = db.session.get(Repository, created["id"])
    assert (stored.name, stored.project_id) == ("Playbooks", project.id)
    [event] = events_of(project)
    assert (event.object_id, event.description) == (created["id"], "Repository Playbooks created")
    assert event.user_id == user_api.user.id


def test_get_repository(user_api, project):
    repository = factories.repository(project=project, name="Site")
    response = user_api.get(url(project, repository.id))
    assert response.status_code == 200
    assert response.get_json()["name"] == "Site"


def test_list_and_sort_repositories(user_api, project):
    keys = {n: factories.key(project=project, name=n) for n in ("k-c", "k-a", "k-b")}
    factories.repository(
        project=project, name="beta", git_url="https://c.example/r", ssh_key_id=keys["k-a"].id
    )
    factories.repository(
        project=project, name="Alpha", git_url="https://a.example/r", ssh_key_id=keys["k-b"].id
    )
    factories.repository(
        project=project, name="gamma", git_url="https://b.example/r", ssh_key_id=keys["k-c"].id
    )
    factories.repository(name="elsewhere")

    def names(query=""):
        response = user_api.get(url(project) + query)
        assert response.status_code == 200
        return [r["name"] for r in response.get_json()]

    assert names() == ["Alpha", "beta", "gamma"]
    assert names("?sort=name&order=desc") == ["gamma", "beta", "Alpha"]
    assert names("?sort=git_url&order=asc") == ["Alpha", "gamma", "beta"]
    assert names("?sort=ssh_key&order=asc") == ["beta", "Alpha", "gamma"]
    assert names("?sort=ssh_key&order=desc") == ["gamma", "Alpha", "beta"]
    assert names("?sort=bogus") == ["Alpha", "beta", "gamma"]


def test_update_repository(user_api, project, key):
    repository = factories.repository(project=project)
    change = body(key, id=repository.id, project_id=project.id, name="Renamed", git_branch="dev")
    assert user_api.put(url(project, repository.id), json=change).status_code == 204
    db.session.expire_all()
    assert (repository.name, repository.git_branch, repository.ssh_key_id) == (
        "Renamed",
        "dev",
        key.id,
    )
    assert [e.description for e in events_of(project)] == ["Repository Renamed updated"]


def test_delete_repository(user_api, project):
    repository_id = factories.repository(project=project, name="Old").id
    assert user_api.delete(url(project, repository_id)).status_code == 204
    assert db.session.get(Repository, repository_id) is None
    [event] = events_of(project)
    assert (event.object_id, event.description) == (repository_id, "Repository Old deleted")
    assert user_api.get(url(project, repository_id)).status_code == 404


@pytest.mark.parametrize("config_overrides", [{"local_repository_roots": ("/srv",)}])
def test_local_path_needs_no_branch(user_api, project, key):
    response = user_api.post(url(project), json=body(key, git_url="/srv/playbooks", git_branch=""))
    assert response.status_code == 201
    assert response.get_json()["git_branch"] == ""


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"name": "  "},
        {"name": 7},
        {"name": "x" * 256},
        {"git_url": None},
        {"git_url": ""},
        {"git_url": ["https://example.com"]},
        {"git_url": "--upload-pack=touch /tmp/x"},
        {"git_url": "https://example.com/a b.git"},
        {"git_branch": None},
        {"git_branch": ""},
        {"git_branch": 3},
        {"git_branch": "-b"},
        {"git_branch": "a..b"},
        {"git_branch": "feature branch"},
        {"ssh_key_id": None},
        {"ssh_key_id": 0},
        {"ssh_key_id": "1"},
        {"ssh_key_id": 1.5},
        {"ssh_key_id": True},
        {"ssh_key_id": 999999},
    ],
)
def test_create_with_bad_fields_is_400(user_api, project, key, change):
    response = user_api.post(url(project), json=body(key, **change))
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert count_repositories() == 0 and events_of(project) == []


def test_error_names_the_field(user_api, project, key):
    response = user_api.post(url(project), json=body(key, git_url=None))
    assert "git_url" in response.get_json()["error"]


def test_key_of_another_project_is_400(user_api, project):
    foreign = factories.key()
    response = user_api.post(url(project), json=body(foreign))
    assert response.status_code == 400
    assert response.get_json()["error"] == f"Access key {foreign.id} does not exist in this project"
    assert count_repositories() == 0


def test_environment_secret_key_is_400(user_api, project):
    environment = factories.environment(project=project)
    secret = factories.key(project=project, type="string", environment_id=environment.id)
    assert user_api.post(url(project), json=body(secret)).status_code == 400


def test_project_id_in_body_must_match(user_api, project, key):
    other = factories.project()
    response = user_api.post(url(project), json=body(key, project_id=other.id))
    assert response.status_code == 400
    assert response.get_json()["error"] == "Project ID in body and URL must be the same"


def test_id_in_body_must_match(user_api, project, key):
    repository = factories.repository(project=project, name="Keep")
    response = user_api.put(url(project, repository.id), json=body(key, id=repository.id + 1))
    assert response.status_code == 400
    assert response.get_json()["error"] == "Repository ID in body and URL must be the same"


@pytest.mark.parametrize("raw", ["{oops", "[1]", '"text"', "null", ""])
def test_malformed_or_non_object_body_is_400(user_api, project, raw):
    response = user_api.post(url(project), data=raw, content_type="application/json")
    assert response.status_code == 400
    repository = factories.repository(project=project)
    response = user_api.put(url(project, repository.id), data=raw, content_type="application/json")
    assert response.status_code == 400


def test_failed_update_changes_nothing(user_api, project, key):
    repository = factories.repository(project=project, name="Keep", git_branch="main")
    foreign = factories.key()
    change = body(key, name="Changed", git_branch="dev", ssh_key_id=foreign.id)
    assert user_api.put(url(project, repository.id), json=change).status_code == 400
    db.session.expire_all()
    assert (repository.name, repository.git_branch) == ("Keep", "main")
    assert events_of(project) == []


def test_unknown_or_foreign_repository_is_404(user_api, project, key):
    foreign = factories.repository(name="Theirs")
    for repository_id in (999999, foreign.id):
        assert user_api.get(url(project, repository_id)).status_code == 404
        assert user_api.put(url(project, repository_id), json=body(key)).status_code == 404
        assert user_api.delete(url(project, repository_id)).status_code == 404
    db.session.expire_all()
    assert foreign.name == "Theirs"


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_readers_cannot_write(app, project, key, role):
    client = member_client(app, project, role)
    repository = factories.repository(project=project, name="Keep")
    assert client.get(url(project)).status_code == 200
    assert client.get(url(project, repository.id)).status_code == 200
    assert client.post(url(project), json=body(key)).status_code == 403
    assert client.put(url(project, repository.id), json=body(key, name="x")).status_code == 403
    assert client.delete(url(project, repository.id)).status_code == 403
    db.session.expire_all()
    assert repository.name == "Keep" and count_repositories() == 1


def test_non_member_gets_404(app, project, key):
    outsider = factories.api_client(app, factories.user())
    repository = factories.repository(project=project)
    assert outsider.get(url(project)).status_code == 404
    assert outsider.get(url(project, repository.id)).status_code == 404
    assert outsider.post(url(project), json=body(key)).status_code == 404
    assert outsider.delete(url(project, repository.id)).status_code == 404


def test_admin_manages_without_membership(admin_api, project, key):
    assert admin_api.post(url(project), json=body(key)).status_code == 201


@pytest.mark.parametrize("user", ["template", "schedule", "inventory"])
def test_repository_in_use_cannot_be_deleted(user_api, project, user):
    repository = factories.repository(project=project)
    if user == "template":
        row = factories.template(project=project, name="the user", repository_id=repository.id)
    elif user == "schedule":
        row = factories.schedule(project=project, name="the user", repository_id=repository.id)
    else:
        row = factories.inventory(
            project=project, name="the user", type="file", repository_id=repository.id
        )
    response = user_api.delete(url(project, repository.id))
    assert response.status_code == 400
    assert response.get_json() == {
        "error": f"Repository is in use by {user} 'the user'",
        "inUse": True,
        "used_by": [{"kind": user, "id": row.id, "name": "the user"}],
    }
    kind = {"template": "templates", "schedule": "schedules", "inventory": "inventories"}[user]
    refs = user_api.get(url(project, repository.id) + "/refs").get_json()
    assert refs[kind] == [{"id": row.id, "name": "the user"}]
    assert db.session.get(Repository, repository.id) is not None
    assert events_of(project) == []
