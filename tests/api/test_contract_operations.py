"""Every operation of the 2.16.14 contract, called with a realistic body.

Each call must answer the status the contract documents for it, and the ContractClient checks
its body against the contract's schema (tests/contract.py). Two companions keep the list
honest: the tour must name every operation of the contract, and every operation must have a
route. (The runner protocol, /internal/runners, is not in the contract.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import WebsocketMismatch

from semaphore.extensions import db
from semaphore.models import Project
from semaphore.services import keys
from semaphore.services.auth import api_tokens
from semaphore.services.permissions import ProjectAccess
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.api.project_world import World, build_world
from tests.contract import ContractClient, contract

P = "/project/{project_id}"
I = P + "/integrations/{integration_id}"  # noqa: E741 - reads as the path it is


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # the contract's path
    status: int
    url: str | None = None  # the URL called, with {placeholders} from the world; default `path`
    body: Callable[[World], Any] | None = None
    anonymous: bool = False  # called without credentials (login) or with a cookie session


def _key(w: World) -> dict:
    return {
        "name": "deploy password",
        "type": "login_password",
        "login_password": {"login": "deploy", "password": "a-long-deploy-password"},
    }


def _repository(w: World) -> dict:
    return {
        "name": "infrastructure",
        "git_url": "https://git.example.com/ops/infrastructure.git",
        "git_branch": "main",
        "ssh_key_id": w["key_id"],
    }


def _inventory(w: World) -> dict:
    return {
        "name": "production",
        "type": "static",
        "inventory": "[web]\nweb1.example.com\nweb2.example.com\n",
        "ssh_key_id": w["key_id"],
    }


def _environment(w: World) -> dict:
    return {
        "name": "production vars",
        "json": '{"target_env": "prod", "replicas": 3}',
        "env": '{"ANSIBLE_FORCE_COLOR": "1"}',
        "secrets": [
            {"type": "var", "name": "db_password", "secret": "s3cret-db-pw", "operation": "create"}
        ],
    }


def _template(w: World) -> dict:
    return {
        "name": "Deploy web",
        "app": "ansible",
        "playbook": "deploy.yml",
        "repository_id": w["repository_id"],
        "inventory_id": w["inventory_id"],
        "environment_ids": [w["environment_id"], w["spare_environment_id"]],
        "view_id": w["view_id"],
        "description": "Rolls the web tier",
        "arguments": '["--forks", "5"]',
        "allow_override_args_in_task": True,
        "survey_vars": [
            {
                "name": "version",
                "title": "Version",
                "type": "enum",
                "required": True,
                "values": [{"name": "1.0", "value": "1.0"}, {"name": "1.1", "value": "1.1"}],
            }
        ],
        "task_params": {"params": {"tags": ["web"]}},
    }


def _schedule(w: World) -> dict:
    return {
        "template_id": w["template_id"],
        "name": "nightly deploy",
        "cron_format": "30 2 * * *",
        "active": True,
        "task_params": {"environment": '{"version": "1.1"}'},
    }


def _integration(w: World) -> dict:
    return {
        "name": "GitHub push",
        "template_id": w["template_id"],
        "auth_method": "github",
        "auth_secret_id": w["webhook_secret_id"],
        "searchable": True,
    }


def _matcher(w: World) -> dict:
    return {
        "name": "main branch",
        "match_type": "body",
        "method": "equals",
        "body_data_type": "json",
        "key": "ref",
        "value": "refs/heads/main",
    }


def _value(w: World) -> dict:
    return {
        "name": "commit",
        "value_source": "body",
        "body_data_type": "json",
        "key": "after",
        "variable": "COMMIT",
        "variable_type": "environment",
    }


def _restore(w: World) -> dict:
    return {
        "meta": {"name": "restored homelab", "alert": True, "max_parallel_tasks": 2},
        "keys": [{"name": "None", "type": "none"}],
        "repositories": [
            {"name": "demo", "git_url": "https://example.com/demo.git", "git_branch": "main",
             "ssh_key": "None"}
        ],
        "inventories": [{"name": "hosts", "inventory": "localhost", "type": "static"}],
        "environments": [{"name": "Empty", "json": "{}"}],
        "views": [{"name": "Deploys", "position": 0}],
        "templates": [
            {"name": "Build", "type": "build", "start_version": "1.0.0", "repository": "demo",
             "inventory": "hosts", "environment": "Empty", "playbook": "build.yml",
             "view": "Deploys", "cron": "0 3 * * *"}
        ],
    }  # fmt: skip


def _runner(w: World) -> dict:
    return {
        "name": "dmz runner",
        "webhook": "https://runners.example.com/hooks/semaphore",
        "max_parallel_tasks": 4,
        "active": True,
        "tags": ["linux", "dmz"],
        "is_default": False,
    }


def _user(w: World) -> dict:
    return {
        "username": "carol",
        "name": "Carol Ops",
        "email": "carol@example.com",
        "password": "a-good-long-password",
        "alert": True,
        "admin": False,
    }


TOUR = [
    Call("GET", "/ping", 200),
    Call("GET", "/info", 200),
    Call("GET", "/auth/login", 200, anonymous=True),
    Call(
        "POST",
        "/auth/login",
        204,
        body=lambda w: {"auth": "admin", "password": factories.DEFAULT_PASSWORD},
        anonymous=True,
    ),
    Call("POST", "/auth/logout", 204, anonymous=True),
    Call("GET", "/user/", 200, url="/user"),
    Call("GET", "/user/tokens", 200),
    Call("POST", "/user/tokens", 201, body=lambda w: {"name": "ci pipeline"}),
    Call("DELETE", "/user/tokens/{api_token_id}", 204),
    Call("GET", "/user/options", 200),
    Call(
        "POST",
        "/user/options",
        200,
        body=lambda w: {"key": "nav.unpinnedItems", "value": '["dashboard", "history"]'},
    ),
    Call("GET", "/users", 200),
    Call("POST", "/users", 201, body=_user),
    Call("GET", "/users/{user_id}/", 200, url="/users/{member}"),
    Call(
        "PUT",
        "/users/{user_id}/",
        204,
        url="/users/{member}",
        body=lambda w: {"name": "Guest Renamed", "username": "guest2", "email": "g2@example.com"},
    ),
    Call("DELETE", "/users/{user_id}/", 204, url="/users/{newcomer}"),
    Call(
        "POST",
        "/users/{user_id}/password",
        204,
        url="/users/{member}/password",
        body=lambda w: {"password": "another-long-password"},
    ),
    Call("GET", "/projects", 200),
    Call("POST", "/projects", 201, body=lambda w: {"name": "Payments", "demo": False}),
    Call("POST", "/projects/restore", 200, body=_restore),
    Call("GET", "/events", 200),
    Call("GET", "/events/last", 200),
    Call("GET", "/apps", 200),
    Call("GET", P + "/", 200, url=P),
    Call(
        "PUT",
        P + "/",
        204,
        url=P,
        body=lambda w: {
            "id": w["project_id"],
            "name": "Web shop",
            "alert": True,
            "alert_chat": "-1001234",
            "max_parallel_tasks": 2,
        },
    ),
    Call("DELETE", P + "/", 204, url=P),
    Call("GET", P + "/backup", 200),
    Call("GET", P + "/role", 200),
    Call("GET", P + "/events", 200),
    Call("GET", P + "/users", 200),
    Call("POST", P + "/users", 204, body=lambda w: {"user_id": w["newcomer"], "role": "manager"}),
    Call(
        "PUT",
        P + "/users/{user_id}",
        204,
        url=P + "/users/{member}",
        body=lambda w: {"role": "task_runner"},
    ),
    Call("DELETE", P + "/users/{user_id}", 204, url=P + "/users/{member}"),
    Call("GET", P + "/keys", 200),
    Call("POST", P + "/keys", 201, body=_key),
    Call(
        "PUT",
        P + "/keys/{key_id}",
        204,
        body=lambda w: {**_key(w), "id": w["key_id"], "override_secret": True},
    ),
    Call("DELETE", P + "/keys/{key_id}", 204, url=P + "/keys/{spare_key_id}"),
    Call("GET", P + "/repositories", 200),
    Call("POST", P + "/repositories", 201, body=_repository),
    Call("GET", P + "/repositories/{repository_id}", 200),
    Call(
        "PUT",
        P + "/repositories/{repository_id}",
        204,
        body=lambda w: {**_repository(w), "id": w["repository_id"], "git_branch": "release"},
    ),
    Call(
        "DELETE",
        P + "/repositories/{repository_id}",
        204,
        url=P + "/repositories/{spare_repository_id}",
    ),
    Call("GET", P + "/inventory", 200),
    Call("POST", P + "/inventory", 201, body=_inventory),
    Call("GET", P + "/inventory/{inventory_id}", 200),
    Call(
        "PUT",
        P + "/inventory/{inventory_id}",
        204,
        body=lambda w: {
            **_inventory(w),
            "id": w["inventory_id"],
            "type": "static-yaml",
            "inventory": "all:\n  hosts:\n    web1.example.com: {}\n",
        },
    ),  # fmt: skip
    Call("DELETE", P + "/inventory/{inventory_id}", 204, url=P + "/inventory/{spare_inventory_id}"),
    Call("GET", P + "/environment", 200),
    Call("POST", P + "/environment", 201, body=_environment),
    Call("GET", P + "/environment/{environment_id}", 200),
    Call(
        "PUT",
        P + "/environment/{environment_id}",
        204,
        body=lambda w: {**_environment(w), "id": w["environment_id"]},
    ),
    Call(
        "DELETE",
        P + "/environment/{environment_id}",
        204,
        url=P + "/environment/{spare_environment_id}",
    ),
    Call("GET", P + "/templates", 200),
    Call("POST", P + "/templates", 201, body=_template),
    Call("GET", P + "/templates/{template_id}", 200),
    Call(
        "PUT",
        P + "/templates/{template_id}",
        204,
        body=lambda w: {**_template(w), "id": w["template_id"], "name": "Deploy web v2"},
    ),
    Call("DELETE", P + "/templates/{template_id}", 204),
    Call(
        "POST",
        P + "/templates/{template_id}/stop_all_tasks",
        204,
        body=lambda w: {"force": True},
    ),
    Call("POST", P + "/schedules", 201, body=_schedule),
    Call("GET", P + "/schedules/{schedule_id}", 200),
    Call(
        "PUT",
        P + "/schedules/{schedule_id}",
        204,
        body=lambda w: {**_schedule(w), "id": w["schedule_id"], "cron_format": "@hourly"},
    ),
    Call("DELETE", P + "/schedules/{schedule_id}", 204),
    Call("GET", P + "/views", 200),
    Call("POST", P + "/views", 201, body=lambda w: {"title": "Releases", "position": 1}),
    Call("GET", P + "/views/{view_id}", 200),
    Call(
        "PUT",
        P + "/views/{view_id}",
        204,
        body=lambda w: {"id": w["view_id"], "title": "Releases", "position": 0},
    ),
    Call("DELETE", P + "/views/{view_id}", 204),
    Call("GET", P + "/tasks", 200),
    Call(
        "POST",
        P + "/tasks",
        201,
        body=lambda w: {
            "template_id": w["template_id"],
            "environment": '{"version": "1.1"}',
            "message": "release 1.1",
            "params": {"limit": ["web1.example.com"], "tags": ["web"], "diff": True},
        },
    ),
    Call("GET", P + "/tasks/last", 200, url=P + "/tasks/last?limit=10"),
    Call(
        "POST",
        P + "/tasks/{task_id}/stop",
        204,
        url=P + "/tasks/{waiting_task_id}/stop",
        body=lambda w: {"force": False},
    ),  # fmt: skip
    Call("GET", P + "/tasks/{task_id}", 200),
    Call("DELETE", P + "/tasks/{task_id}", 204),
    Call("GET", P + "/tasks/{task_id}/output", 200),
    Call("GET", P + "/tasks/{task_id}/raw_output", 200),
    # The contract documents only 409; the original answers 204 once the test is sent off.
    Call("POST", P + "/notifications/test", 204),
    Call("GET", P + "/integrations", 200),
    Call("POST", P + "/integrations", 201, body=_integration),
    Call("GET", I, 200),
    Call("PUT", I, 204, body=lambda w: {**_integration(w), "id": w["integration_id"]}),
    Call("DELETE", I, 204, url=P + "/integrations/{spare_integration_id}"),
    Call("GET", I + "/values", 200),
    Call("POST", I + "/values", 201, body=_value),
    Call(
        "PUT",
        I + "/values/{extractvalue_id}",
        204,
        url=I + "/values/{value_id}",
        body=lambda w: {**_value(w), "id": w["value_id"], "variable": "SHA"},
    ),  # fmt: skip
    Call("DELETE", I + "/values/{extractvalue_id}", 204, url=I + "/values/{value_id}"),
    Call("GET", I + "/matchers", 200),
    Call("POST", I + "/matchers", 200, body=_matcher),
    Call(
        "PUT",
        I + "/matchers/{matcher_id}",
        204,
        body=lambda w: {**_matcher(w), "id": w["matcher_id"], "value": "refs/heads/release"},
    ),  # fmt: skip
    Call("DELETE", I + "/matchers/{matcher_id}", 204),
    Call("GET", P + "/integrations/aliases", 200),
    Call("POST", P + "/integrations/aliases", 200),
    Call(
        "DELETE",
        P + "/integrations/aliases/{alias_id}",
        204,
        url=P + "/integrations/aliases/{project_alias_id}",
    ),
    Call("GET", I + "/aliases", 200),
    Call("POST", I + "/aliases", 200),
    Call("DELETE", I + "/aliases/{alias_id}", 204, url=I + "/aliases/{integration_alias_id}"),
    Call("GET", "/runners", 200),
    Call("POST", "/runners", 201, body=_runner),
    Call("GET", "/runner_tags", 200),
    Call("GET", "/runners/{runner_id}", 200, url="/runners/{global_runner_id}"),
    Call("PUT", "/runners/{runner_id}", 204, url="/runners/{global_runner_id}", body=_runner),
    Call("DELETE", "/runners/{runner_id}", 204, url="/runners/{global_spare_runner_id}"),
    Call(
        "POST",
        "/runners/{runner_id}/active",
        204,
        url="/runners/{global_runner_id}/active",
        body=lambda w: {"active": False},
    ),
    Call(
        "POST",
        "/runners/{runner_id}/registration-token",
        200,
        url="/runners/{global_new_runner_id}/registration-token",
    ),
    Call("DELETE", "/runners/{runner_id}/cache", 204, url="/runners/{global_runner_id}/cache"),
    Call("GET", P + "/runners", 200),
    Call("POST", P + "/runners", 201, body=lambda w: {**_runner(w), "project_id": w["project_id"]}),
    Call("GET", P + "/runner_tags", 200),
    Call("GET", P + "/runners/{runner_id}", 200),
    Call("PUT", P + "/runners/{runner_id}", 204, body=_runner),
    Call("DELETE", P + "/runners/{runner_id}", 204, url=P + "/runners/{spare_runner_id}"),
    Call("POST", P + "/runners/{runner_id}/active", 204, body=lambda w: {"active": False}),
    Call(
        "POST",
        P + "/runners/{runner_id}/registration-token",
        200,
        url=P + "/runners/{new_runner_id}/registration-token",
    ),
    Call("DELETE", P + "/runners/{runner_id}/cache", 204),
]

# Operations that need a live server or an identity provider: their tests, which use the
# same contract-checking client, are named here (module, test) and must exist.
ELSEWHERE = {
    ("GET", "/ws"): ("tests.live.test_ws", "test_a_guest_receives_only_the_projects_it_belongs_to"),
    ("GET", "/auth/oidc/{provider_id}/login"): (
        "tests.oidc.test_oidc_login",
        "test_first_login_creates_an_external_user_and_signs_in",
    ),
    ("GET", "/auth/oidc/{provider_id}/redirect"): (
        "tests.oidc.test_oidc_login",
        "test_first_login_creates_an_external_user_and_signs_in",
    ),
}


def contract_operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in contract()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    }


def test_the_tour_names_every_operation():
    toured = [(call.method, call.path) for call in TOUR]
    assert len(toured) == len(set(toured)), "an operation is toured twice"
    assert set(toured) | set(ELSEWHERE) == contract_operations()
    assert len(contract_operations()) == 116


def test_operations_toured_elsewhere_have_their_tests():
    import importlib

    for module, name in ELSEWHERE.values():
        assert callable(getattr(importlib.import_module(module), name))


def _sample(path: str) -> str:
    """The contract path with each {parameter} replaced by a number."""
    return re.sub(r"\{[^}]+\}", "1", path.rstrip("/") or "/")


@pytest.mark.single_db
def test_every_operation_has_a_route(app):
    adapter = app.url_map.bind("localhost")
    missing = set()
    for method, path in contract_operations():
        try:
            adapter.match("/api" + _sample(path), method=method)
        except WebsocketMismatch:
            pass  # /ws: the route is there, for WebSocket upgrades only
        except (NotFound, MethodNotAllowed):
            missing.add((method, path))
    assert missing == set()


@pytest.fixture
def tour_world(app, admin) -> World:
    world = build_world()
    _, world.ids["api_token_id"] = api_tokens.create_token(admin)
    project = db.session.get(Project, world["project_id"])
    access = ProjectAccess(project, admin, "owner")
    secret = {"login": "", "password": "a-long-webhook-secret"}
    world.ids["webhook_secret_id"] = keys.create_key(
        access, {"name": "webhook", "type": "login_password", "login_password": secret}
    ).id
    task_id = world["task_id"]
    for text in ("PLAY [web] ****", "TASK [deploy] ****", "ok: [web1.example.com]"):
        task_output.append_line(task_id, text)
    db.session.commit()
    return world


def _client(app, admin, call: Call) -> ContractClient:
    if not call.anonymous:
        return factories.api_client(app, admin)
    client = ContractClient(app.test_client())
    if call.path == "/auth/logout":
        login = {"auth": "admin", "password": factories.DEFAULT_PASSWORD}
        assert client.post("/api/auth/login", json=login).status_code == 204
    return client


@pytest.mark.parametrize("call", TOUR, ids=lambda c: f"{c.method} {c.path}")
def test_the_operation_answers_its_documented_status(app, admin, tour_world, call: Call):
    client = _client(app, admin, call)
    url = "/api" + (call.url or call.path).format_map(tour_world.ids)
    kwargs = {"json": call.body(tour_world)} if call.body else {}
    response = client.open(call.method, url, **kwargs)
    # The ContractClient has already checked the body against the operation's schema.
    assert response.status_code == call.status, response.get_data(as_text=True)
