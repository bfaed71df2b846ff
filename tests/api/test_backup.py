"""/api/project/{id}/backup and /api/projects/restore: the original's format, no secrets."""

import copy
import json

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import (
    AccessKey,
    Environment,
    Event,
    Integration,
    IntegrationAlias,
    IntegrationExtractValue,
    IntegrationMatcher,
    Project,
    ProjectUser,
    Repository,
    Schedule,
    Template,
    TemplateEnvironment,
    TemplateVault,
)
from semaphore.schemas.cron import parse_cron
from semaphore.services import keys
from semaphore.services.permissions import ProjectAccess
from tests import factories


# Backups here name local repositories (/srv/..., /r): the server allows them under "/", and
# test_restore_refuses_a_local_repository_outside_the_roots shows the setting applies.
@pytest.fixture
def config_overrides() -> dict:
    return {"local_repository_roots": ("/",)}


PASSWORD = "vault-password-do-not-leak"
ENV_SECRET = "environment-secret-do-not-leak"
SURVEY = [
    {
        "name": "region",
        "title": "Region",
        "description": "Where to deploy",
        "type": "enum",
        "required": True,
        "values": [{"name": "EU", "value": "eu-west-1"}, {"name": "US", "value": "us-east-1"}],
    },
    {"name": "count", "title": "Count", "type": "int", "required": False},
]


def private_key() -> str:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )


def _rich_project(owner):
    """A project with one of everything a backup carries, and real sealed secrets."""
    project = factories.project(
        name="homelab",
        members={owner: "owner"},
        alert=True,
        alert_chat="-100200",
        max_parallel_tasks=3,
    )
    access = ProjectAccess(project, owner, "owner")
    pem = private_key()
    ssh = keys.create_key(
        access,
        {"name": "deploy key", "type": "ssh", "ssh": {"login": "root", "private_key": pem}},
    )
    vault = keys.create_key(
        access,
        {"name": "vault", "type": "login_password", "login_password": {"password": PASSWORD}},
    )
    none = factories.key(project=project, name="None")
    env = factories.environment(
        project=project, name="prod", json='{"region": "eu"}', env='{"DEBUG": "1"}'
    )
    env_secret = AccessKey(
        name="var.token",
        type="string",
        project_id=project.id,
        environment_id=env.id,
        secret=keys.seal_secret(ENV_SECRET),
    )
    db.session.add(env_secret)
    db.session.commit()
    builds = factories.view(project=project, title="Builds", position=0)
    factories.view(project=project, title="Deploys", position=1, hidden=True)
    repo = factories.repository(
        project=project, name="app", git_url="git@example.com:app.git", ssh_key_id=ssh.id
    )
    factories.repository(
        project=project,
        name="local",
        git_url="/srv/app",
        git_branch="",
        ssh_key_id=none.id,
    )
    inventory = factories.inventory(
        project=project,
        name="servers",
        inventory="[web]\nweb1\n",
        ssh_key_id=ssh.id,
        become_key_id=vault.id,
    )
    factories.inventory(project=project, name="yaml", type="static-yaml", inventory="all: {}")
    build = factories.template(
        project=project,
        name="Build",
        type="build",
        start_version="1.0.0",
        repository_id=repo.id,
        inventory_id=inventory.id,
        environment_id=env.id,
        view_id=builds.id,
        arguments='["-v"]',
        description="Builds the app",
        survey_vars=SURVEY,
        suppress_success_alerts=True,
        task_params={"limit": ["web"]},
    )
    deploy = factories.template(
        project=project,
        name="Deploy",
        type="deploy",
        build_template_id=build.id,
        autorun=True,
        git_branch="release",
        repository_id=repo.id,
        inventory_id=inventory.id,
        app="bash",
        playbook="deploy.sh",
        environment_id=env.id,
    )
    # The deploy template applies two environments, staging over prod (2.16's environment_ids).
    staging = factories.environment(project=project, name="staging", json='{"region": "us"}')
    db.session.add_all(
        [
            TemplateEnvironment(template_id=deploy.id, environment_id=env.id, position=0),
            TemplateEnvironment(template_id=deploy.id, environment_id=staging.id, position=1),
        ]
    )
    db.session.add(
        TemplateVault(
            project_id=project.id, template_id=build.id, vault_key_id=vault.id, name="prod"
        )
    )
    factories.schedule(project=project, template_id=build.id, cron_format="*/5 * * * *")
    factories.schedule(project=project, template_id=build.id, cron_format="@daily")
    integration = Integration(
        project_id=project.id,
        name="github push",
        template_id=deploy.id,
        auth_method="token",
        auth_secret_id=vault.id,
        auth_header="X-Token",
        searchable=True,
        task_params={"debug": True},
    )
    db.session.add(integration)
    db.session.flush()
    db.session.add_all(
        [
            IntegrationMatcher(
                integration_id=integration.id,
                name="main branch",
                match_type="body",
                method="equals",
                body_data_type="json",
                key="ref",
                value="refs/heads/main",
            ),
            IntegrationExtractValue(
                integration_id=integration.id,
                name="commit",
                value_source="body",
                body_data_type="json",
                key="after",
                variable="COMMIT",
            ),
            IntegrationAlias(
                alias="integrationalias", project_id=project.id, integration_id=integration.id
            ),
            IntegrationAlias(alias="projectalias0001", project_id=project.id),
        ]
    )
    db.session.commit()
    secrets = [pem.strip().splitlines()[1], PASSWORD, ENV_SECRET]
    secrets += [k.secret for k in (ssh, vault, env_secret)]
    return project, secrets


@pytest.fixture
def owner(app):
    return factories.user()


@pytest.fixture
def owner_api(app, owner):
    return factories.api_client(app, owner)


def _projects() -> int:
    return db.session.scalar(select(func.count()).select_from(Project))


def _backup(client, project_id: int) -> dict:
    response = client.get(f"/api/project/{project_id}/backup")
    assert response.status_code == 200
    return response.get_json()


def test_backup_has_the_originals_format_and_no_secrets(owner, owner_api):
    project, secrets = _rich_project(owner)
    response = owner_api.get(f"/api/project/{project.id}/backup")
    assert response.status_code == 200
    raw = response.get_data(as_text=True)
    for secret in secrets:
        assert secret not in raw
    body = response.get_json()
    assert set(body) == {
        "meta",
        "templates",
        "repositories",
        "keys",
        "views",
        "inventories",
        "environments",
        "integrations",
        "integration_aliases",
    }
    assert body["meta"] == {
        "name": "homelab",
        "alert": True,
        "alert_chat": "-100200",
        "max_parallel_tasks": 3,
        "type": "",
    }
    assert body["keys"] == [
        {"name": "None", "type": "none"},
        {"name": "deploy key", "type": "ssh"},
        {"name": "vault", "type": "login_password"},
    ]
    assert body["environments"] == [
        {"name": "prod", "json": '{"region": "eu"}', "env": '{"DEBUG": "1"}'},
        {"name": "staging", "json": '{"region": "us"}'},
    ]
    assert [v["title"] for v in body["views"]] == ["Builds", "Deploys"]
    assert body["views"][1]["hidden"] is True
    assert body["repositories"][0] == {
        "name": "app",
        "git_url": "git@example.com:app.git",
        "git_branch": "main",
        "ssh_key": "deploy key",
    }
    servers = next(i for i in body["inventories"] if i["name"] == "servers")
    assert servers == {
        "name": "servers",
        "inventory": "[web]\nweb1\n",
        "type": "static",
        "ssh_key": "deploy key",
        "become_key": "vault",
    }
    build, deploy = body["templates"]
    assert build["name"] == "Build" and build["survey_vars"] == SURVEY
    assert build["vaults"] == [{"name": "prod", "type": "password", "vault_key": "vault"}]
    assert build["cron"] == "*/5 * * * *"
    assert (build["repository"], build["inventory"], build["environment"], build["view"]) == (
        "app",
        "servers",
        "prod",
        "Builds",
    )
    assert build["task_params"] == {"limit": ["web"]}
    assert "build_template" not in build and "git_branch" not in build
    assert deploy["build_template"] == "Build" and deploy["autorun"] is True
    assert deploy["environment"] == "prod" and deploy["environments"] == ["prod", "staging"]
    assert "environments" not in build  # one environment: the original's field alone
    assert deploy["vaults"] == [] and "cron" not in deploy and "view" not in deploy
    assert not any(k == "id" or k.endswith("_id") for t in body["templates"] for k in t)
    [integration] = body["integrations"]
    assert integration["template"] == "Deploy" and integration["auth_secret"] == "vault"
    assert integration["aliases"] == ["integrationalias"]
    assert integration["matchers"][0]["key"] == "ref"
    assert integration["extract_values"][0]["variable"] == "COMMIT"
    assert body["integration_aliases"] == ["projectalias0001"]


def _strip_aliases(backup: dict) -> dict:
    backup = copy.deepcopy(backup)
    backup["integration_aliases"] = []
    for integration in backup["integrations"]:
        integration["aliases"] = []
    return backup


def test_restore_round_trips_as_another_user(app, owner, owner_api):
    project, secrets = _rich_project(owner)
    original = _backup(owner_api, project.id)
    restorer = factories.user()
    restorer_api = factories.api_client(app, restorer)
    document = copy.deepcopy(original)
    # The original's aliases are still taken; fresh ones are restored as given.
    document["integrations"][0]["aliases"] = ["freshalias000001"]
    document["integration_aliases"] = ["freshalias000002"]

    response = restorer_api.post("/api/projects/restore", json=document)

    assert response.status_code == 200
    created = response.get_json()
    assert created["name"] == "homelab" and created["id"] != project.id
    new_id = created["id"]
    role = db.session.get(ProjectUser, (new_id, restorer.id)).role
    assert role == "owner"
    copy_backup = _backup(restorer_api, new_id)
    assert _strip_aliases(copy_backup) == _strip_aliases(original)
    assert copy_backup["integrations"][0]["aliases"] == ["freshalias000001"]
    assert copy_backup["integration_aliases"] == ["freshalias000002"]
    raw = json.dumps(copy_backup)
    for secret in secrets:
        assert secret not in raw
    # Keys come back empty, no defaults are added, and the cron became a waiting schedule.
    restored_keys = db.session.scalars(select(AccessKey).where(AccessKey.project_id == new_id))
    assert sorted((k.name, k.secret) for k in restored_keys) == [
        ("None", None),
        ("deploy key", None),
        ("vault", None),
    ]
    listed = restorer_api.get(f"/api/project/{new_id}/keys").get_json()
    assert all(k.get("empty") is True for k in listed)
    assert [e.name for e in db.session.scalars(select(Environment).filter_by(project_id=new_id))]
    assert db.session.scalar(
        select(func.count()).select_from(Environment).filter_by(project_id=new_id)
    ) == len(original["environments"])
    deploy_row = db.session.scalar(select(Template).filter_by(project_id=new_id, name="Deploy"))
    restored_envs = restorer_api.get(f"/api/project/{new_id}/templates/{deploy_row.id}").get_json()
    names = {
        e.id: e.name for e in db.session.scalars(select(Environment).filter_by(project_id=new_id))
    }
    assert [names[i] for i in restored_envs["environment_ids"]] == ["prod", "staging"]
    [schedule] = db.session.scalars(select(Schedule).where(Schedule.project_id == new_id))
    build = db.session.get(Template, schedule.template_id)
    assert (schedule.cron_format, schedule.active) == ("*/5 * * * *", False)
    assert build.name == "Build" and schedule.repository_id == build.repository_id
    deploy = db.session.scalar(select(Template).filter_by(project_id=new_id, name="Deploy"))
    assert deploy.build_template_id == build.id
    event = db.session.scalar(select(Event).filter_by(project_id=new_id, object_type="project"))
    assert event.user_id == restorer.id
    # The original aliases stay with the original project.
    assert db.session.scalar(
        select(IntegrationAlias.project_id).filter_by(alias="projectalias0001")
    ) == (project.id)


def test_restore_skips_aliases_that_are_taken(owner, owner_api):
    project, _ = _rich_project(owner)
    backup = _backup(owner_api, project.id)
    response = owner_api.post("/api/projects/restore", json=backup)
    assert response.status_code == 200
    again = _backup(owner_api, response.get_json()["id"])
    assert again["integration_aliases"] == [] and again["integrations"][0]["aliases"] == []


def test_duplicate_names_get_a_random_suffix(owner, owner_api):
    project = factories.project(members={owner: "owner"})
    for _ in range(3):
        factories.inventory(project=project, name="hosts")
    factories.view(project=project, title="Same")
    factories.view(project=project, title="Same")
    backup = _backup(owner_api, project.id)
    names = [i["name"] for i in backup["inventories"]]
    assert names[0] == "hosts" and len(set(names)) == 3
    assert all(n.startswith("hosts - ") and len(n) == len("hosts - ") + 10 for n in names[1:])
    titles = [v["title"] for v in backup["views"]]
    assert titles[0] == "Same" and titles[1].startswith("Same - ")
    assert owner_api.post("/api/projects/restore", json=backup).status_code == 200


def test_any_member_may_back_up_but_not_outsiders(app, owner, user_api):
    project = factories.project(members={owner: "owner"})
    guest = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=guest.id, role="guest"))
    db.session.commit()
    assert factories.api_client(app, guest).get(f"/api/project/{project.id}/backup").status_code
    response = user_api.get(f"/api/project/{project.id}/backup")
    assert response.status_code == 404
    assert "error" in response.get_json()


def test_anonymous_cannot_restore(api, app):
    response = api.post("/api/projects/restore", json={"meta": {"name": "x"}})
    assert response.status_code == 401
    assert _projects() == 0


def test_minimal_restore(user_api):
    response = user_api.post("/api/projects/restore", json={"meta": {"name": "tiny"}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "tiny" and body["alert"] is False
    assert db.session.scalar(select(func.count()).select_from(AccessKey)) == 0
    assert db.session.scalar(select(func.count()).select_from(Environment)) == 0


def _valid_document() -> dict:
    return {
        "meta": {"name": "restored"},
        "keys": [{"name": "None", "type": "none"}],
        "repositories": [{"name": "repo", "git_url": "/srv/repo", "ssh_key": "None"}],
        "inventories": [{"name": "inv", "inventory": "localhost", "type": "static"}],
        "environments": [{"name": "env", "json": "{}"}],
        "views": [{"title": "view", "position": 0}],
        "templates": [
            {"name": "build", "type": "build", "repository": "repo", "inventory": "inv"},
            {
                "name": "deploy",
                "type": "deploy",
                "repository": "repo",
                "build_template": "build",
            },
        ],
    }


def _changed(path: str, value):
    """A valid document with one value replaced (path like "templates.0.inventory")."""
    document = _valid_document()
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


BAD_DOCUMENTS = {
    "array": ([], "JSON object"),
    "string": ("backup", "JSON object"),
    "no meta": ({"templates": []}, "meta"),
    "meta is a string": (_changed("meta", "homelab"), "meta must be an object"),
    "no name": (_changed("meta", {}), "error at meta: name is required"),
    "name is a number": (_changed("meta.name", 7), "name must be a string"),
    "missing inventory": (
        _changed("templates.0.inventory", "nope"),
        "error at templates[0]: inventory does not exist in inventories[].name",
    ),
    "deploy without build": (
        _changed("templates.1.build_template", None),
        "error at templates[1]: deploy is build but build_template does not exist",
    ),
    "bad cron": (_changed("templates.0.cron", "61 * * * *"), "error at templates[0]: cron"),
    "cron with six fields": (_changed("templates.0.cron", "* * * * * *"), "5 fields"),
    "templates is an object": (_changed("templates", {"name": "x"}), "must be an array"),
    "template is a string": (_changed("templates.0", "build"), "templates[0]: must be an object"),
    "survey_vars is a string": (
        _changed("templates.0.survey_vars", "[]"),
        "survey_vars must be an array",
    ),
    "survey var type": (
        _changed("templates.0.survey_vars", [{"name": "x", "required": "yes"}]),
        "error at templates[0].survey_vars[0]: required must be true or false",
    ),
    "vault is a string": (_changed("templates.0.vaults", ["key"]), "vaults[0]: must be an object"),
    "unknown vault key": (
        _changed("templates.0.vaults", [{"vault_key": "nope"}]),
        "vault_key does not exist",
    ),
    "arguments not JSON": (_changed("templates.0.arguments", "-v"), "arguments must be valid JSON"),
    "task_params tags": (
        _changed("templates.0.task_params", {"params": {"tags": [8]}}),
        "error at templates[0]: task_params.params.tags must be an array of strings",
    ),
    "task_params branch": (
        _changed("templates.0.task_params", {"git_branch": {}}),
        "git_branch must be a string",
    ),
    "task_params is a list": (
        _changed("templates.0.task_params", []),
        "task_params must be an object",
    ),
    "bad app": (_changed("templates.0.app", "cobol"), "app must be one of"),
    "missing repository": (_changed("templates.0.repository", None), "repository does not exist"),
    "repository without key": (_changed("repositories.0.ssh_key", None), "SSHKey does not exist"),
    "unknown become key": (_changed("inventories.0.become_key", "root"), "become_key does not"),
    "bad key type": (_changed("keys.0.type", "string"), "error at keys[0]: type must be one of"),
    "position is text": (_changed("views.0.position", "1"), "position must be an integer"),
    "flag is text": (_changed("meta.alert", "true"), "alert must be true or false"),
    "json not an object": (_changed("environments.0.json", "[1]"), "json must be a JSON object"),
    "name too long": (_changed("keys.0.name", "k" * 300), "at most 255"),
    "file inventory escapes": (
        _changed("inventories.0", {"name": "inv", "type": "file", "inventory": "../../etc/x"}),
        "Invalid inventory file pathname",
    ),
    "duplicate keys": (
        _changed("keys", [{"name": "None", "type": "none"}, {"name": "None", "type": "ssh"}]),
        "error at keys[1]: None is duplicate",
    ),
    "alias is a number": (_changed("integration_aliases", [1]), "must be a string"),
    "integration without template": (
        _changed("integrations", [{"name": "hook", "template": "nope"}]),
        "error at integrations[0]: template does not exist",
    ),
    "matcher type": (
        _changed(
            "integrations",
            [{"name": "h", "template": "build", "matchers": [{"name": "m", "match_type": "x"}]}],
        ),
        "error at integrations[0].matchers[0]: match_type must be one of",
    ),
}


def test_the_valid_document_restores(user_api):
    response = user_api.post("/api/projects/restore", json=_valid_document())
    assert response.status_code == 200


@pytest.mark.parametrize("document,message", BAD_DOCUMENTS.values(), ids=list(BAD_DOCUMENTS))
def test_bad_documents_are_refused_and_nothing_is_written(user_api, document, message):
    response = user_api.post("/api/projects/restore", json=document)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert _projects() == 0
    assert db.session.scalar(select(func.count()).select_from(AccessKey)) == 0


@pytest.mark.parametrize("body", [b"{", b"", b"\xff\xfe"])
def test_malformed_json_is_refused(user_api, body):
    response = user_api.post(
        "/api/projects/restore", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert _projects() == 0


@pytest.mark.parametrize(
    "spec",
    [
        "* * * * *",
        "*/5 0-6 1,15 JAN-mar mon-fri",
        "0 0 * * 0",
        "@daily",
        "@every 1h30m",
        "CRON_TZ=Europe/Berlin 30 4 * * *",
        "5/10 * * * ?",
    ],
)
def test_cron_accepts_what_robfig_accepts(spec):
    parse_cron(spec)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "* * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 7",
        "5-1 * * * *",
        "*/0 * * * *",
        "a * * * *",
        "@often",
        "@every soon",
        "@every 100000000000h",
        "CRON_TZ=Nowhere/City * * * * *",
    ],
)
def test_cron_refuses_what_robfig_refuses(spec):
    with pytest.raises(ValueError):
        parse_cron(spec)


def test_the_contracts_example_restores(user_api):
    from tests.contract import CONTRACT_PATH

    spec = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    example = spec["definitions"]["ProjectBackup"]["example"]
    response = user_api.post("/api/projects/restore", json=example)
    assert response.status_code == 200
    backup = _backup(user_api, response.get_json()["id"])
    assert backup["templates"][0]["cron"] == "* * * * *"
    assert backup["templates"][0]["view"] == "Build"
    assert [i["name"] for i in backup["inventories"]] == ["Build", "Dev", "Prod"]


RAW_BAD_DOCUMENTS = {
    "NUL in a name": '{"meta": {"name": "a\\u0000b"}}',
    "lone surrogate": '{"meta": {"name": "\\udc00"}}',
    "NaN number": '{"meta": {"name": "x", "max_parallel_tasks": NaN}}',
    "Infinity in task_params": (
        '{"meta": {"name": "x"}, "keys": [{"name": "k", "type": "none"}],'
        ' "repositories": [{"name": "r", "git_url": "/r", "ssh_key": "k"}],'
        ' "templates": [{"name": "t", "repository": "r", "task_params": {"a": Infinity}}]}'
    ),
    "deeply nested json text": json.dumps(
        {"meta": {"name": "x"}, "environments": [{"name": "e", "json": "[" * 5000}]}
    ),
}


@pytest.mark.parametrize("raw", RAW_BAD_DOCUMENTS.values(), ids=list(RAW_BAD_DOCUMENTS))
def test_unstorable_values_are_refused(user_api, raw):
    response = user_api.post(
        "/api/projects/restore", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert _projects() == 0


def test_long_texts_are_kept(user_api):
    variables = json.dumps({f"var{i}": "x" * 50 for i in range(100)})
    document = _valid_document()
    document["environments"][0]["json"] = variables
    document["templates"][0]["arguments"] = json.dumps(["--verbose"] * 100)
    response = user_api.post("/api/projects/restore", json=document)
    assert response.status_code == 200
    backup = _backup(user_api, response.get_json()["id"])
    assert backup["environments"][0]["json"] == variables


def test_views_carry_the_contracts_name_and_restore_from_either(owner, owner_api, user_api):
    project, _ = _rich_project(owner)
    backup = _backup(owner_api, project.id)
    assert [(v["name"], v["title"]) for v in backup["views"]] == [
        ("Builds", "Builds"),
        ("Deploys", "Deploys"),
    ]
    deploy = next(t for t in backup["templates"] if t["name"] == "Deploy")
    assert deploy["environment"] == "prod" and deploy["environments"] == ["prod", "staging"]
    # A client that round-trips the backup through the contract's models keeps only `name`.
    through_contract = copy.deepcopy(backup)
    for view in through_contract["views"]:
        del view["title"]
    through_contract["integrations"] = []
    through_contract["integration_aliases"] = []
    restored = user_api.post("/api/projects/restore", json=through_contract)
    assert restored.status_code == 200, restored.get_json()
    views = user_api.get(f"/api/project/{restored.get_json()['id']}/views").get_json()
    assert [v["title"] for v in views] == ["Builds", "Deploys"]


def test_a_template_environment_list_must_name_environments_of_the_document(user_api):
    document = _valid_document()
    document["templates"][0]["environments"] = ["nowhere"]
    before = _projects()
    response = user_api.post("/api/projects/restore", json=document)
    assert response.status_code == 400
    assert "environments[0] does not exist in environments[].name" in response.get_json()["error"]
    assert _projects() == before


# --- restore checks by the API's rules (RepositoryIn, SurveyVar, VaultIn, the one cron parser) ---


def _rows() -> tuple[int, int, int]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Project, Template, Repository)
    )


def _with_vault_key(document: dict) -> dict:
    document["keys"].append({"name": "vault", "type": "login_password"})
    return document


REFUSED_LIKE_THE_API = {
    "option-like git_url": (
        _changed("repositories.0.git_url", "--upload-pack=touch /tmp/x"),
        "error at repositories[0]: git_url is not a valid repository URL",
    ),
    "bad git_branch": (
        _changed("repositories.0", {"name": "repo", "git_url": "/srv/r", "git_branch": "a..b"}),
        "error at repositories[0]: git_branch is not a valid branch name",
    ),
    "remote repository without a branch": (
        _changed("repositories.0.git_url", "https://example.com/app.git"),
        "error at repositories[0]: git_branch is required",
    ),
    "enum survey variable without values": (
        _changed("templates.1.survey_vars", [{"name": "a"}, {"name": "b", "type": "enum"}]),
        "error at templates[1].survey_vars[1]: an enum needs at least one value",
    ),
    "survey value that is not a string": (
        _changed(
            "templates.1.survey_vars", [{"name": "a", "values": [{"name": "x"}, {"value": 1}]}]
        ),
        "error at templates[1].survey_vars[0].values[1]: value must be a string",
    ),
    "two survey variables of one name": (
        _changed("templates.0.survey_vars", [{"name": "a"}, {"name": "a"}]),
        "error at templates[0].survey_vars[1]: the name a is used twice",
    ),
    "two unnamed vaults": (
        _with_vault_key(
            _changed("templates.1.vaults", [{"vault_key": "vault"}, {"vault_key": "vault"}])
        ),
        "error at templates[1].vaults[1]: two vaults have the same name",
    ),
    "password vault without a key": (
        _changed("templates.0.vaults", [{"name": "prod", "type": "password"}]),
        "error at templates[0].vaults[0]: vault_key is required",
    ),
    "script vault without a script": (
        _changed("templates.0.vaults", [{"type": "script"}]),
        "error at templates[0].vaults[0]: script is required",
    ),
    "bad cron": (
        _changed("templates.1.cron", "61 * * * *"),
        "error at templates[1]: cron is invalid: ",
    ),
    "@every past Go's durations": (
        _changed("templates.0.cron", "@every 100000000000h"),
        "error at templates[0]: cron is invalid: ",
    ),
}


@pytest.mark.parametrize(
    "document,message", REFUSED_LIKE_THE_API.values(), ids=list(REFUSED_LIKE_THE_API)
)
def test_restore_refuses_what_the_api_refuses_and_writes_nothing(user_api, document, message):
    before = _rows()
    response = user_api.post("/api/projects/restore", json=document)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(message)
    assert _rows() == before


@pytest.mark.parametrize("config_overrides", [{"local_repository_roots": ("/srv/repos",)}])
def test_restore_refuses_a_local_repository_outside_the_roots(user_api):
    before = _rows()
    document = _changed("repositories.0", {"name": "repo", "git_url": "/etc", "ssh_key": "None"})
    response = user_api.post("/api/projects/restore", json=document)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(
        "error at repositories[0]: git_url: a local repository path must be under one of the "
        "directories in the server's local_repository_roots (/srv/repos)"
    )
    assert _rows() == before
    inside = _changed("repositories.0.git_url", "/srv/repos/app")
    assert user_api.post("/api/projects/restore", json=inside).status_code == 200


def test_restored_survey_variables_and_vaults_are_kept_as_given(user_api):
    survey = [
        {"name": "region", "type": "enum", "values": [{"name": "EU", "value": "eu"}]},
        {"name": "count", "title": "Count", "default_value": "3"},
    ]
    document = _with_vault_key(_valid_document())
    document["templates"][0]["survey_vars"] = survey
    document["templates"][0]["vaults"] = [
        {"vault_key": "vault"},
        {"name": "tool", "type": "script", "script": "vault/client.py"},
    ]
    response = user_api.post("/api/projects/restore", json=document)
    assert response.status_code == 200, response.get_json()
    build = _backup(user_api, response.get_json()["id"])["templates"][0]
    assert build["survey_vars"] == survey
    assert build["vaults"] == [
        {"type": "password", "vault_key": "vault"},
        {"name": "tool", "type": "script", "script": "vault/client.py"},
    ]


def test_a_restored_template_reads_and_writes_back_through_the_api(owner, owner_api):
    project, _ = _rich_project(owner)
    restored = owner_api.post("/api/projects/restore", json=_backup(owner_api, project.id))
    assert restored.status_code == 200
    new_id = restored.get_json()["id"]
    listed = owner_api.get(f"/api/project/{new_id}/templates").get_json()
    assert {t["name"] for t in listed} == {"Build", "Deploy"}
    for template in listed:
        url = f"/api/project/{new_id}/templates/{template['id']}"
        read = owner_api.get(url)
        assert read.status_code == 200
        written = owner_api.put(url, json=read.get_json())
        assert written.status_code == 204, written.get_json()
        again = owner_api.get(url).get_json()
        # The API writes every field of a survey variable; the rest is as it was.
        assert [v["name"] for v in again["survey_vars"]] == [
            v["name"] for v in read.get_json()["survey_vars"]
        ]
        assert {**again, "survey_vars": None} == {**read.get_json(), "survey_vars": None}
        assert again["vaults"] == read.get_json()["vaults"]
