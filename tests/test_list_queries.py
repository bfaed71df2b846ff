"""No list costs a query per row: every GET route of the API and the pages is asked for with a
project of 2 and one of 6 of every kind, and must send the same number of SQL statements.

Routes come from `app.url_map`, so a new route is measured without being listed here; one that
needs something this world lacks fails with "add it to the list".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from semaphore.extensions import db
from semaphore.models import (
    AccessKey,
    Event,
    Integration,
    IntegrationAlias,
    IntegrationDelivery,
    IntegrationDeliveryOutcome,
    IntegrationExtractValue,
    IntegrationMatcher,
    Runner,
    Session,
    Task,
    TaskOutputChunk,
    TemplateEnvironment,
    TemplateVault,
    utcnow,
)
from semaphore.services import project_cache
from semaphore.services.auth import api_tokens
from tests import factories
from tests.web.helpers import Browser

SMALL, BIG = 2, 6
# A constant count can still be too big: a page this many statements deep is worth a look.
CEILING = 25
# Routes not measured, and why. Keep it short: anything else that answers a list is measured.
EXCLUDED = {
    "api.live_socket": "a websocket upgrade, not a list",
    "api.oidc_login_start": "redirects to an OIDC provider this world does not configure",
    "api.oidc_login_finish": "the OIDC callback: needs a provider's state",
    "api.oidc_login_finish_at": "the OIDC callback: needs a provider's state",
    "api.receive_integration": "a webhook receiver that starts tasks, not a list",
    "api.totp_qr": "an image of a pending two-factor enrolment, not a list",
}
# Routes whose URL argument names a row of another kind than the world's row of that name.
ARGUMENTS = {
    "api.get_global_runner": {"runner_id": "global_runner_id"},
    "web.runners_edit": {"runner_id": "global_runner_id"},
}
HTMX = {"HX-Request": "true"}
# Query arguments without which a route refuses, or shows no rows.
QUERIES = {
    "api.search_task_output": "q=line",
    "web.task_output_search": "q=line",
    "web.task_output_before": "seq=20",
}


def build_world(actor, k: int) -> dict[str, int | str]:
    """A project with k of every kind (and k more global rows), the actor its owner; returns
    the URL arguments naming its first row of each kind, whose own sub-lists have k rows too.

    Rows point at different rows of each kind: a per-row lookup of one shared row would be
    answered from the session's identity map and go unseen.
    """
    members = [factories.user() for _ in range(k)]
    roles = ["manager", "task_runner", "guest"]
    project = factories.project(
        members={actor: "owner", **{m: roles[i % 3] for i, m in enumerate(members)}}
    )
    pid = project.id
    keys = [factories.key(project=project) for _ in range(k)]
    repositories = [factories.repository(project=project, ssh_key_id=key.id) for key in keys]
    inventories = [
        factories.inventory(project=project, ssh_key_id=key.id, become_key_id=keys[-1].id)
        for key in keys
    ]
    environments = [factories.environment(project=project, json='{"a": 1}') for _ in range(k)]
    db.session.add_all(  # an environment's secrets are access keys
        AccessKey(name=f"var.s{e.id}", type="string", project_id=pid, environment_id=e.id)
        for e in environments
    )
    views = [factories.view(project=project, position=i) for i in range(k)]
    survey = [{"name": "tag", "title": "Tag", "type": "", "required": False, "values": []}]
    templates = []
    for i in range(k):  # the first builds, the others deploy its builds
        templates.append(
            factories.template(
                project=project,
                type="deploy" if i else "build",
                build_template_id=templates[0].id if i else None,
                repository_id=repositories[i].id,
                inventory_id=inventories[i].id,
                environment_id=environments[i].id,
                view_id=views[0 if i % 2 == 0 else i].id,  # the first view has k/2
                survey_vars=survey,
                task_params={"limit": ["web"]},
                # Every other template's tasks wait for a runner: their reasons read runners.
                runner_tag="dmz" if i % 2 == 0 else None,
            )
        )
        db.session.add_all(
            TemplateEnvironment(template_id=templates[i].id, environment_id=e.id, position=p)
            for p, e in enumerate([environments[i], environments[(i + 1) % k]])
        )
        db.session.add(
            TemplateVault(project_id=pid, template_id=templates[i].id, vault_key_id=keys[i].id)
        )
    # One schedule per template, and k in all for the first.
    schedules = [
        factories.schedule(
            project=project,
            template_id=t.id,
            active=bool(i % 2),
            repository_id=repositories[i % k].id,
            task_params={"debug": True},
        )
        for i, t in enumerate(templates + templates[:1] * (k - 1))
    ]
    integrations, matchers, values = [], [], []
    for t in templates:
        hook = Integration(project_id=pid, template_id=t.id, name="Hook", task_params={})
        db.session.add(hook)
        db.session.flush()
        integrations.append(hook)
        for n in range(k):
            matchers.append(
                IntegrationMatcher(integration_id=hook.id, name="M", match_type="header")
            )
            values.append(
                IntegrationExtractValue(integration_id=hook.id, name="V", value_source="header")
            )
            alias = IntegrationAlias(
                alias=f"own{hook.id:08d}{n:04d}", project_id=pid, integration_id=hook.id
            )
            db.session.add_all([matchers[-1], values[-1], alias])
        db.session.add(IntegrationAlias(alias=f"prj{hook.id:013d}", project_id=pid))
    # Every template but the last has run k + 1 times: by a member, a schedule or an integration.
    tasks = []
    for i, t in enumerate(templates[:-1]):
        for j in range(k + 1):
            started_by = [
                {"user_id": members[j % k].id},
                {"schedule_id": schedules[j].id},
                {"integration_id": integrations[j % k].id},
            ][j % 3]
            tasks.append(
                Task(
                    project_id=pid,
                    template_id=t.id,
                    # Both worlds hold waiting tasks, whose reasons are read.
                    status=["waiting", "success", "error", "running"][j % 4],
                    params={"debug": False},
                    inventory_id=inventories[j % k].id,
                    version=f"1.0.{j}" if i == 0 else None,
                    build_task_id=tasks[j].id if i else None,
                    created=utcnow() - timedelta(minutes=len(tasks)),
                    **started_by,
                )
            )
            db.session.add(tasks[-1])
            db.session.flush()
    # Both worlds hold active tasks started by a schedule and by an integration: the global
    # queue (/tasks, /api/tasks) names them, and would otherwise ask for their names in one.
    for origin in ({"schedule_id": schedules[0].id}, {"integration_id": integrations[0].id}):
        db.session.add(
            Task(project_id=pid, template_id=templates[0].id, status="waiting", **origin)
        )
    for task in tasks[:k]:  # the first k tasks wrote k chunks of 3 lines each
        db.session.add_all(
            TaskOutputChunk(
                task_id=task.id,
                first_seq=1 + 3 * c,
                line_count=3,
                started=utcnow(),
                times="0,0,0",
                output="line a\nline b\nline c",
            )
            for c in range(k)
        )
    for _ in range(k):  # k requests, each reaching every integration
        delivery = IntegrationDelivery(project_id=pid, alias_kind="project", method="POST")
        db.session.add(delivery)
        db.session.flush()
        db.session.add_all(
            IntegrationDeliveryOutcome(
                delivery_id=delivery.id,
                integration_id=hook.id,
                result="started",
                task_id=tasks[i].id,
            )
            for i, hook in enumerate(integrations)
        )
    for i, t in enumerate(templates):
        db.session.add_all(
            [
                Event(
                    project_id=pid, user_id=members[i].id, object_id=t.id, object_type="template"
                ),
                Event(project_id=pid, object_id=tasks[i].id, object_type="task"),
                Event(user_id=members[i].id, object_id=members[i].id, object_type="user"),
                Session(user_id=actor.id, ip="127.0.0.1"),
            ]
        )
    db.session.commit()
    for _ in range(k):
        api_tokens.create_token(actor)
    runners = [
        Runner(project_id=owner, name=f"r{i}", tags=["linux", f"t{i}"], active=True)
        for owner in (pid, None)
        for i in range(k)
    ]
    db.session.add_all(runners)
    db.session.commit()
    return {
        "project_id": pid,
        "key_id": keys[0].id,
        "repository_id": repositories[0].id,
        "inventory_id": inventories[0].id,
        "environment_id": environments[0].id,
        "view_id": views[0].id,
        "template_id": templates[0].id,
        "schedule_id": schedules[0].id,
        "integration_id": integrations[0].id,
        "matcher_id": matchers[0].id,
        "value_id": values[0].id,
        "task_id": tasks[0].id,
        "user_id": members[0].id,
        "app_id": "ansible",
        "runner_id": runners[0].id,
        "global_runner_id": runners[k].id,
    }


@contextmanager
def counting() -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def get_routes(app) -> list:
    """Every GET rule of the API and page blueprints, but the excluded ones."""
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.endpoint.split(".")[0] in ("api", "web")
            and "GET" in rule.methods
            and rule.endpoint not in EXCLUDED
        ),
        key=lambda rule: rule.rule,
    )


def measure(routes, world: dict, api, web, admin: bool) -> dict[str, int | str | None]:
    """Statements each route's GET sent (once warmed up), or why it could not be measured.

    Pages are asked for twice: whole, and as htmx swaps them (partials, and the routes that
    answer htmx only)."""
    counts: dict[str, int | str | None] = {}
    for rule in routes:
        missing = set(rule.arguments) - set(world)
        if missing:
            counts[rule.rule] = f"needs {sorted(missing)}: add it to the world or to EXCLUDED"
            continue
        names = ARGUMENTS.get(rule.endpoint, {})
        path = re.sub(
            r"<(?:\w+:)?(\w+)>",
            lambda m, names=names: str(world[names.get(m.group(1), m.group(1))]),
            rule.rule,
        )
        if rule.endpoint in QUERIES:
            path += "?" + QUERIES[rule.endpoint]
        if rule.endpoint.startswith("api."):
            variants = {rule.rule: (api, {})}
        else:
            variants = {rule.rule: (web, {}), f"{rule.rule} (htmx)": (web, HTMX)}
        for name, (client, headers) in variants.items():
            client.get(path, headers=headers)  # a cache filled on first use is no per-row query
            project_cache.clear()  # but a kept answer would hide the rows' queries
            with counting() as statements:
                response = client.get(path, headers=headers)
                response.get_data()  # a streamed body reads the database as it is sent
            counts[name] = len(statements)
            if response.status_code == 403 and not admin:
                counts[name] = None  # admins only: measured in the admin's run
            elif response.status_code >= 400:
                counts[name] = (
                    f"{path} answered {response.status_code}: give it what it needs "
                    "(the world, QUERIES) or add it to EXCLUDED with a reason"
                )
    return counts


@pytest.mark.parametrize("who", ["admin", "owner"])
def test_no_get_route_sends_a_query_per_row(app, who, admin, admin_api, user_api):
    # An admin and a plain owner: permission checks and "my projects" queries differ.
    actor, api = (admin, admin_api) if who == "admin" else (user_api.user, user_api)
    web = Browser(app)
    web.log_in(actor)
    routes = get_routes(app)
    assert set(EXCLUDED) <= set(app.view_functions), "EXCLUDED names a route that is gone"
    # The big world comes second: global lists (projects, users, events) see both.
    small = measure(routes, build_world(actor, SMALL), api, web, actor.admin)
    big = measure(routes, build_world(actor, BIG), api, web, actor.admin)
    problems = []
    for name, few in small.items():
        many = big[name]
        if isinstance(few, str) or isinstance(many, str):
            problems.append(f"{name}: {few if isinstance(few, str) else many}")
        elif (few is None) != (many is None):
            problems.append(f"{name}: refused in one world only ({few}, {many} statements)")
        elif few is None:
            continue
        elif many > few:
            problems.append(
                f"{name}: {few} statements with {SMALL} of each kind, {many} with {BIG}"
            )
        elif many > CEILING:
            problems.append(f"{name}: {many} statements, more than {CEILING}")
    assert not problems, "\n".join(problems)
