"""/api/project/{id}/keys: secrets go in sealed, never come out."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select, text

from semaphore.extensions import db
from semaphore.models import AccessKey, Event, Integration, TemplateVault
from semaphore.services import keys
from tests import factories


def private_key(passphrase: bytes | None = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption)
        .decode()
    )


@pytest.fixture
def owner_project(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    return project, factories.api_client(app, owner)


def _url(project, suffix=""):
    return f"/api/project/{project.id}/keys{suffix}"


def _raw_secret(key_id: int) -> str:
    return db.session.execute(
        text("SELECT secret FROM access_key WHERE id = :id"), {"id": key_id}
    ).scalar_one()


def test_ssh_key_is_sealed_and_never_returned(owner_project):
    project, client = owner_project
    pem = private_key()
    body = {"name": "deploy", "type": "ssh", "ssh": {"login": "root", "private_key": pem}}
    response = client.post(_url(project), json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert created["name"] == "deploy" and created["ssh"]["private_key"] == ""
    raw = _raw_secret(created["id"])
    assert "PRIVATE KEY" not in raw and "root" not in raw
    listed = client.get(_url(project)).get_data(as_text=True)
    one = client.get(_url(project, f"/{created['id']}")).get_data(as_text=True)
    assert "PRIVATE KEY" not in listed + one
    secret = keys.read_secret(db.session.get(AccessKey, created["id"]))
    assert (secret.login, secret.private_key) == ("root", pem)


def test_encrypted_private_key_needs_its_passphrase(owner_project):
    project, client = owner_project
    pem = private_key(b"open sesame")
    ssh = {"private_key": pem}
    bad = client.post(_url(project), json={"name": "k", "type": "ssh", "ssh": ssh})
    assert bad.status_code == 400
    wrong = {**ssh, "passphrase": "nope"}
    assert (
        client.post(_url(project), json={"name": "k", "type": "ssh", "ssh": wrong}).status_code
        == 400
    )
    good = {**ssh, "passphrase": "open sesame"}
    created = client.post(_url(project), json={"name": "k", "type": "ssh", "ssh": good})
    assert created.status_code == 201
    assert "open sesame" not in _raw_secret(created.get_json()["id"])


def test_login_password_key(owner_project):
    project, client = owner_project
    body = {
        "name": "git",
        "type": "login_password",
        "login_password": {"login": "bot", "password": "hunter2"},
    }
    key_id = client.post(_url(project), json=body).get_json()["id"]
    assert "hunter2" not in _raw_secret(key_id)
    assert "hunter2" not in client.get(_url(project)).get_data(as_text=True)
    assert keys.read_secret(db.session.get(AccessKey, key_id)).password == "hunter2"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "none"},
        {"name": "", "type": "none"},
        {"name": "k"},
        {"name": "k", "type": "rsa"},
        {"name": "k", "type": "string"},
        {"name": 5, "type": "none"},
        {"name": "k", "type": "ssh"},
        {"name": "k", "type": "ssh", "ssh": "text"},
        {"name": "k", "type": "ssh", "ssh": {"private_key": "not a key"}},
        {"name": "k", "type": "ssh", "ssh": {"private_key": 12}},
        {"name": "k", "type": "login_password", "login_password": {"login": "x"}},
        {"name": "k", "type": "none", "project_id": 999999},
    ],
)
def test_bad_keys_are_refused(owner_project, body):
    project, client = owner_project
    response = client.post(_url(project), json=body)
    assert response.status_code == 400
    assert (
        db.session.scalars(select(AccessKey).where(AccessKey.project_id == project.id)).all() == []
    )


def test_update_keeps_the_secret_unless_overridden(owner_project):
    project, client = owner_project
    body = {"name": "git", "type": "login_password", "login_password": {"password": "one"}}
    key_id = client.post(_url(project), json=body).get_json()["id"]
    rename = {"name": "renamed", "type": "none"}
    assert client.put(_url(project, f"/{key_id}"), json=rename).status_code == 204
    db.session.expire_all()
    row = db.session.get(AccessKey, key_id)
    assert (row.name, row.type, keys.read_secret(row).password) == (
        "renamed",
        "login_password",
        "one",
    )
    override = {
        "name": "renamed",
        "type": "login_password",
        "override_secret": True,
        "login_password": {"password": "two"},
    }
    assert client.put(_url(project, f"/{key_id}"), json=override).status_code == 204
    db.session.expire_all()
    assert keys.read_secret(db.session.get(AccessKey, key_id)).password == "two"
    bad = {**override, "login_password": {}}
    assert client.put(_url(project, f"/{key_id}"), json=bad).status_code == 400
    db.session.expire_all()
    assert keys.read_secret(db.session.get(AccessKey, key_id)).password == "two"


def test_list_sorts_filters_and_marks_empty_keys(owner_project):
    project, client = owner_project
    factories.key(project=project, name="b", type="none")
    client.post(
        _url(project),
        json={"name": "a", "type": "login_password", "login_password": {"password": "p"}},
    )
    body = client.get(_url(project) + "?sort=name&order=desc").get_json()
    assert [k["name"] for k in body] == ["b", "a"]
    assert body[0]["empty"] is True and "empty" not in body[1]
    only = client.get(_url(project) + "?type=login_password").get_json()
    assert [k["name"] for k in only] == ["a"]


def test_delete_and_in_use(owner_project):
    project, client = owner_project
    repository = factories.repository(project=project, name="code")
    key_id = repository.ssh_key_id
    vault_template = factories.template(project=project, name="vaulted")
    db.session.add(
        TemplateVault(project_id=project.id, template_id=vault_template.id, vault_key_id=key_id)
    )
    hook = Integration(
        project_id=project.id, template_id=vault_template.id, name="hook", auth_secret_id=key_id
    )
    db.session.add(hook)
    db.session.commit()
    response = client.delete(_url(project, f"/{key_id}"))
    assert response.status_code == 400 and response.get_json()["inUse"] is True
    assert response.get_json()["used_by"] == [
        {"kind": "template", "id": vault_template.id, "name": "vaulted"},
        {"kind": "repository", "id": repository.id, "name": "code"},
        {"kind": "integration", "id": hook.id, "name": "hook"},
    ]
    refs = client.get(_url(project, f"/{key_id}/refs")).get_json()
    assert refs == {
        "templates": [{"id": vault_template.id, "name": "vaulted"}],
        "inventories": [],
        "repositories": [{"id": repository.id, "name": "code"}],
        "integrations": [{"id": hook.id, "name": "hook"}],
        "schedules": [],
    }
    spare_id = factories.key(project=project).id
    assert client.delete(_url(project, f"/{spare_id}")).status_code == 204
    assert client.delete(_url(project, f"/{spare_id}")).status_code == 404
    descriptions = db.session.scalars(
        select(Event.description).where(Event.project_id == project.id)
    )
    assert any("deleted" in d for d in descriptions)


def test_keys_of_other_projects_are_invisible(owner_project):
    project, client = owner_project
    foreign = factories.key(project=factories.project())
    assert client.get(_url(project, f"/{foreign.id}")).status_code == 404
    assert client.put(_url(project, f"/{foreign.id}"), json={"name": "x"}).status_code == 404
    assert client.delete(_url(project, f"/{foreign.id}")).status_code == 404


@pytest.mark.parametrize("role", ["task_runner", "guest"])
def test_readers_cannot_write_keys(app, role):
    member = factories.user()
    project = factories.project(members={member: role})
    client = factories.api_client(app, member)
    key = factories.key(project=project)
    assert client.get(_url(project)).status_code == 200
    assert client.post(_url(project), json={"name": "k", "type": "none"}).status_code == 403
    assert client.put(_url(project, f"/{key.id}"), json={"name": "k"}).status_code == 403
    assert client.delete(_url(project, f"/{key.id}")).status_code == 403


def test_manager_writes_keys(app):
    member = factories.user()
    project = factories.project(members={member: "manager"})
    client = factories.api_client(app, member)
    assert client.post(_url(project), json={"name": "k", "type": "none"}).status_code == 201


def test_the_suite_wide_secret_check_catches_a_leak():
    """The ContractClient's leak check (tests/contract.py) is live: it sees a stored secret."""
    from tests.contract import ContractViolation, _collect_secrets, check_no_stored_secret

    _collect_secrets({"login_password": {"password": "leak-canary-4711"}})
    check_no_stored_secret("GET", "/api/x", b'{"name": "fine"}')
    with pytest.raises(ContractViolation):
        check_no_stored_secret("GET", "/api/x", b'{"password": "leak-canary-4711"}')


def test_answers_show_exactly_the_originals_fields_with_empty_secrets(owner_project):
    project, client = owner_project
    body = {"name": "git", "type": "login_password", "login_password": {"password": "p4ss"}}
    created = client.post(_url(project), json=body).get_json()
    expected = {
        "id": created["id"],
        "name": "git",
        "type": "login_password",
        "project_id": project.id,
        "ssh": {"login": "", "passphrase": "", "private_key": ""},
        "login_password": {"login": "", "password": ""},
        "override_secret": False,
    }
    assert created == expected
    assert client.get(_url(project, f"/{created['id']}")).get_json() == expected
    # Only the list marks a key without a secret, and only when it is empty.
    empty = factories.key(project=project, name="z", type="none")
    listed = {key["id"]: key for key in client.get(_url(project)).get_json()}
    assert listed[created["id"]] == expected
    assert listed[empty.id]["empty"] is True and set(listed[empty.id]) == {*expected, "empty"}


def test_a_secret_object_of_another_type_is_ignored(owner_project):
    project, client = owner_project
    body = {"name": "k", "type": "none", "ssh": "text", "login_password": 5}
    assert client.post(_url(project), json=body).status_code == 201


def test_an_update_reads_the_type_only_with_override_secret(owner_project):
    project, client = owner_project
    key = factories.key(project=project, type="none")
    rename = {"name": "renamed", "type": "rsa", "ssh": 5}
    assert client.put(_url(project, f"/{key.id}"), json=rename).status_code == 204
    override = {**rename, "override_secret": True}
    response = client.put(_url(project, f"/{key.id}"), json=override)
    assert response.get_json()["error"] == "type must be one of none, ssh, login_password"
    no_type = client.put(_url(project, f"/{key.id}"), json={"name": "k", "override_secret": True})
    assert no_type.get_json()["error"] == "type is required"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "k"}, "type is required"),
        ({"type": "none"}, "name is required"),
        ({"name": "k", "type": "ssh"}, "ssh.private_key is required"),
        ({"name": "k", "type": "ssh", "ssh": "text"}, "ssh must be an object"),
        (
            {"name": "k", "type": "ssh", "ssh": {"private_key": "not a key"}},
            "ssh.private_key is not a valid private key",
        ),
        (
            {"name": "k", "type": "login_password", "login_password": {"login": "x"}},
            "login_password.password is required",
        ),
        (
            {"name": "k", "type": "login_password", "login_password": {"password": 5}},
            "login_password.password must be a string",
        ),
    ],
)
def test_refusals_name_the_field(owner_project, body, error):
    project, client = owner_project
    assert client.post(_url(project), json=body).get_json()["error"] == error
