"""Every project route of the contract, called by every kind of user (REFERENCE.md, Roles).

Reads are open to every member; writes need the role's permission bit; non-members get 404,
anonymous callers 401, and admins may do everything. A refused write changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Project, ProjectUser, User
from tests import factories
from tests.api.project_world import World, build_world
from tests.contract import contract

READ, RUN, RESOURCES, PROJECT, MEMBERS = "read", "run", "resources", "project", "members"
ADMIN = "admin"
ROLE_GRANTS = {
    "owner": {READ, RUN, RESOURCES, PROJECT, MEMBERS},
    "manager": {READ, RUN, RESOURCES},
    "task_runner": {READ, RUN},
    "guest": {READ},
}
CALLERS = ("admin", "owner", "manager", "task_runner", "guest", "outsider", "anonymous")


Body = Callable[[World], Any] | None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the contract's path, {placeholders} resolved from World
    needs: str
    success: int
    body: Body = None


def _template_body(w: World) -> dict:
    return {
        "name": "T",
        "app": "ansible",
        "playbook": "site.yml",
        "repository_id": w["repository_id"],
        "inventory_id": w["inventory_id"],
        "environment_id": w["environment_id"],
    }


def _repository_body(w: World) -> dict:
    return {
        "name": "R",
        "git_url": "https://example.com/r.git",
        "git_branch": "main",
        "ssh_key_id": w["key_id"],
    }


def _integration_body(w: World) -> dict:
    return {"name": "Hook", "template_id": w["template_id"], "auth_method": ""}


def _value_body(w: World) -> dict:
    return {"name": "V", "value_source": "header", "key": "X-Ref", "variable": "REF"}


def _matcher_body(w: World) -> dict:
    return {"name": "M", "match_type": "header", "key": "X-Event", "value": "push"}


P = "/project/{project_id}"
INTEGRATIONS = P + "/integrations"
INTEGRATION = INTEGRATIONS + "/{integration_id}"
RUNNERS = P + "/runners"
RUNNER = RUNNERS + "/{runner_id}"
ROUTES = [
    Route("GET", P, READ, 200),
    Route("PUT", P, PROJECT, 204, lambda w: {"name": "Renamed"}),
    Route("DELETE", P, PROJECT, 204),
    Route("GET", P + "/role", READ, 200),
    Route("GET", P + "/events", READ, 200),
    Route("GET", P + "/backup", READ, 200),
    Route("GET", P + "/users", READ, 200),
    Route(
        "POST", P + "/users", MEMBERS, 204, lambda w: {"user_id": w["newcomer"], "role": "guest"}
    ),
    Route("PUT", P + "/users/{member}", MEMBERS, 204, lambda w: {"role": "manager"}),
    Route("DELETE", P + "/users/{member}", MEMBERS, 204),
    Route("GET", P + "/keys", READ, 200),
    Route("POST", P + "/keys", RESOURCES, 201, lambda w: {"name": "K", "type": "none"}),
    Route("PUT", P + "/keys/{key_id}", RESOURCES, 204, lambda w: {"name": "K2", "type": "none"}),
    Route("DELETE", P + "/keys/{spare_key_id}", RESOURCES, 204),
    Route("GET", P + "/repositories", READ, 200),
    Route("POST", P + "/repositories", RESOURCES, 201, _repository_body),
    Route("GET", P + "/repositories/{repository_id}", READ, 200),
    Route("PUT", P + "/repositories/{repository_id}", RESOURCES, 204, _repository_body),
    Route("DELETE", P + "/repositories/{spare_repository_id}", RESOURCES, 204),
    Route("GET", P + "/inventory", READ, 200),
    Route(
        "POST",
        P + "/inventory",
        RESOURCES,
        201,
        lambda w: {"name": "I", "type": "static", "inventory": "localhost"},
    ),
    Route("GET", P + "/inventory/{inventory_id}", READ, 200),
    Route(
        "PUT",
        P + "/inventory/{inventory_id}",
        RESOURCES,
        204,
        lambda w: {"name": "I2", "type": "static", "inventory": "localhost"},
    ),
    Route("DELETE", P + "/inventory/{spare_inventory_id}", RESOURCES, 204),
    Route("GET", P + "/environment", READ, 200),
    Route("POST", P + "/environment", RESOURCES, 201, lambda w: {"name": "E", "json": "{}"}),
    Route("GET", P + "/environment/{environment_id}", READ, 200),
    Route(
        "PUT",
        P + "/environment/{environment_id}",
        RESOURCES,
        204,
        lambda w: {"name": "E2", "json": "{}"},
    ),
    Route("DELETE", P + "/environment/{spare_environment_id}", RESOURCES, 204),
    Route("GET", P + "/templates", READ, 200),
    Route("POST", P + "/templates", RESOURCES, 201, _template_body),
    Route("GET", P + "/templates/{template_id}", READ, 200),
    Route("PUT", P + "/templates/{template_id}", RESOURCES, 204, _template_body),
    Route("DELETE", P + "/templates/{template_id}", RESOURCES, 204),
    Route("GET", P + "/views", READ, 200),
    Route("POST", P + "/views", RESOURCES, 201, lambda w: {"title": "V", "position": 1}),
    Route("GET", P + "/views/{view_id}", READ, 200),
    Route("PUT", P + "/views/{view_id}", RESOURCES, 204, lambda w: {"title": "V2", "position": 2}),
    Route("DELETE", P + "/views/{view_id}", RESOURCES, 204),
    Route(
        "POST",
        P + "/schedules",
        RESOURCES,
        201,
        lambda w: {"template_id": w["template_id"], "cron_format": "* * * * *", "name": "S"},
    ),
    Route("GET", P + "/schedules/{schedule_id}", READ, 200),
    Route(
        "PUT",
        P + "/schedules/{schedule_id}",
        RESOURCES,
        204,
        lambda w: {"template_id": w["template_id"], "cron_format": "0 * * * *", "name": "S2"},
    ),
    Route("DELETE", P + "/schedules/{schedule_id}", RESOURCES, 204),
    Route("GET", P + "/tasks", READ, 200),
    Route("POST", P + "/tasks", RUN, 201, lambda w: {"template_id": w["template_id"]}),
    Route("GET", P + "/tasks/last", READ, 200),
    Route("GET", P + "/tasks/{task_id}", READ, 200),
    Route("GET", P + "/tasks/{task_id}/output", READ, 200),
    Route("GET", P + "/tasks/{task_id}/raw_output", READ, 200),
    # Ours, not the original's: paged output and search.
    Route("GET", P + "/tasks/{task_id}/output?after=0&limit=10", READ, 200),
    Route("GET", P + "/tasks/{task_id}/output/search?q=x", READ, 200),
    Route("POST", P + "/tasks/{waiting_task_id}/stop", RUN, 204, lambda w: {}),
    Route(
        "POST",
        P + "/templates/{template_id}/stop_all_tasks",
        RUN,
        204,
        lambda w: {"force": False},
    ),
    # The original's, outside the contract: a terraform plan's answer.
    Route("POST", P + "/tasks/{confirmation_task_id}/confirm", RUN, 204),
    Route("POST", P + "/tasks/{confirmation_task_id}/reject", RUN, 204),
    # The original's manage-resources check (its router), with the project's alerts on.
    Route("POST", P + "/notifications/test", RESOURCES, 204),
    Route("GET", P + "/keys/{key_id}/refs", READ, 200),
    Route("GET", P + "/repositories/{repository_id}/refs", READ, 200),
    Route("GET", P + "/inventory/{inventory_id}/refs", READ, 200),
    Route("GET", P + "/environment/{environment_id}/refs", READ, 200),
    Route("GET", P + "/templates/{template_id}/refs", READ, 200),
    # Deleting task records is for system administrators only, as in the original.
    Route("DELETE", P + "/tasks/{task_id}", ADMIN, 204),
    Route("GET", INTEGRATIONS, READ, 200),
    Route("POST", INTEGRATIONS, RESOURCES, 201, _integration_body),
    Route("GET", INTEGRATION, READ, 200),
    Route("PUT", INTEGRATION, RESOURCES, 204, _integration_body),
    Route("DELETE", INTEGRATIONS + "/{spare_integration_id}", RESOURCES, 204),
    Route("GET", INTEGRATION + "/values", READ, 200),
    Route("POST", INTEGRATION + "/values", RESOURCES, 201, _value_body),
    Route("PUT", INTEGRATION + "/values/{value_id}", RESOURCES, 204, _value_body),
    Route("DELETE", INTEGRATION + "/values/{value_id}", RESOURCES, 204),
    Route("GET", INTEGRATION + "/matchers", READ, 200),
    Route("POST", INTEGRATION + "/matchers", RESOURCES, 200, _matcher_body),
    Route("PUT", INTEGRATION + "/matchers/{matcher_id}", RESOURCES, 204, _matcher_body),
    Route("DELETE", INTEGRATION + "/matchers/{matcher_id}", RESOURCES, 204),
    Route("GET", INTEGRATIONS + "/aliases", READ, 200),
    Route("POST", INTEGRATIONS + "/aliases", RESOURCES, 200),
    Route("DELETE", INTEGRATIONS + "/aliases/{project_alias_id}", RESOURCES, 204),
    Route("GET", INTEGRATION + "/aliases", READ, 200),
    Route("POST", INTEGRATION + "/aliases", RESOURCES, 200),
    Route("DELETE", INTEGRATION + "/aliases/{integration_alias_id}", RESOURCES, 204),
    # Ours, beyond the 2.16 contract (the original serves them): single children and refs.
    Route("GET", INTEGRATION + "/refs", READ, 200),
    Route("GET", INTEGRATION + "/matchers/{matcher_id}", READ, 200),
    Route("GET", INTEGRATION + "/values/{value_id}", READ, 200),
    # Project runners: the original's router checks them as the project's other resources.
    Route("GET", RUNNERS, READ, 200),
    Route("POST", RUNNERS, RESOURCES, 201, lambda w: {"name": "R", "tags": ["linux"]}),
    Route("GET", P + "/runner_tags", READ, 200),
    Route("GET", RUNNER, READ, 200),
    Route("PUT", RUNNER, RESOURCES, 204, lambda w: {"name": "R2", "max_parallel_tasks": 2}),
    Route("POST", RUNNER, RESOURCES, 204, lambda w: {"name": "R2"}),
    Route("DELETE", RUNNERS + "/{spare_runner_id}", RESOURCES, 204),
    Route("POST", RUNNER + "/active", RESOURCES, 204, lambda w: {"active": False}),
    Route("POST", RUNNERS + "/{new_runner_id}/registration-token", RESOURCES, 200),
    Route("DELETE", RUNNER + "/cache", RESOURCES, 204),
]

# Project routes of the contract that later issues implement; each must join ROUTES then.
LATER: dict[str, str] = {}


def test_the_matrix_covers_every_project_route_of_the_contract():
    covered = {(r.method, _normalise(r.path)) for r in ROUTES}
    missing = []
    for path, operations in contract()["paths"].items():
        if not path.startswith("/project/") or any(part in path for part in LATER):
            continue
        for method in operations:
            if method == "parameters":
                continue
            if (method.upper(), _normalise(path)) not in covered:
                missing.append(f"{method.upper()} {path}")
    assert missing == []


def _normalise(path: str) -> str:
    """Compare paths by shape: every {parameter} is the same."""
    return "/".join("{}" if p.startswith("{") else p for p in path.rstrip("/").split("/"))


def _world(caller: str) -> tuple[World, Any]:
    world = build_world()
    project = db.session.get(Project, world["project_id"])
    owner = db.session.get(User, world["owner"])
    return world, _caller_user(caller, project, owner)


def _caller_user(caller: str, project, owner):
    if caller == "anonymous":
        return None
    if caller == "owner":
        return owner
    if caller == "admin":
        return factories.user(admin=True)
    user = factories.user()
    if caller != "outsider":
        db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=caller))
        db.session.commit()
    return user


def expected_status(route: Route, caller: str) -> int:
    if caller == "anonymous":
        return 401
    if caller == "outsider":
        return 404
    if caller == "admin" or route.needs in ROLE_GRANTS[caller]:
        return route.success
    return 403


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_permission_matrix(app, api, route: Route, caller: str):
    world, user = _world(caller)
    client = api if user is None else factories.api_client(app, user)
    path = "/api" + route.path.format_map(world.ids)
    kwargs = {"json": route.body(world)} if route.body else {}
    before = _snapshot(world["project_id"])
    response = client.open(route.method, path, **kwargs)
    assert response.status_code == expected_status(route, caller), response.get_data(as_text=True)
    if response.status_code in (401, 403, 404):
        assert _snapshot(world["project_id"]) == before, "a refused request changed data"


def _snapshot(project_id: int) -> dict[str, list[tuple]]:
    """Every row of the project, table by table (events included)."""
    db.session.expire_all()
    rows = {}
    for table in db.metadata.sorted_tables:
        column = table.c.get("project_id") if table.name != "project" else table.c.id
        if column is None:
            continue
        query = select(table).where(column == project_id).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in db.session.execute(query)]
    return rows
