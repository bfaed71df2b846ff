"""Hostile numbers and nesting (issue 15): ids past the database's integer range on any `{id}`
path, and JSON nested deeply inside string fields, are 400 with `{"error": ...}`, never 500.

Every `<int:...>` route of the app's url_map is called with out-of-range ids, then hypothesis
draws ids up to 2**64 across them; every JSON-text field is sent deeply nested text; and every
write route of a project with one of everything gets bodies whose strings are deep JSON.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from semaphore.extensions import db
from semaphore.models import User
from semaphore.services.validation import MAX_JSON_DEPTH
from semaphore.wsgi_middleware import MAX_ID, IdConverter
from tests import factories
from tests.api.project_world import build_world
from tests.web.helpers import Browser

OUT_OF_RANGE = [str(n) for n in (MAX_ID + 1, 2**63 - 1, 2**63, 2**64, 10**40)] + ["9" * 5000]
DEEP_TEXT = "[" * 5000 + "]" * 5000  # far past Python's recursion limit
JUST_TOO_DEEP = '{"a": ' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _int_routes(app) -> list[tuple[str, str, list[str]]]:
    """(method, rule, names of its int parts) for every route with an `<int:...>` part."""
    routes = []
    for rule in app.url_map.iter_rules():
        names = [n for n, c in rule._converters.items() if isinstance(c, IdConverter)]
        for method in sorted((rule.methods or set()) & set(METHODS)):
            if names:
                routes.append((method, rule.rule, names))
    return routes


def _path(rule: str, values: dict[str, int]) -> str:
    for name, value in values.items():
        rule = rule.replace(f"<int:{name}>", str(value))
    return rule


@pytest.fixture
def admin_client(app):
    admin = factories.user(admin=True)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {factories.api_token(admin)}"
    return client


def _assert_refused_id(response, path: str) -> None:
    assert response.status_code == 400, (path, response.status_code)
    if path.startswith("/api"):
        assert "out of range" in response.get_json()["error"], path


def test_every_int_route_refuses_ids_past_the_integer_range(app, admin_client):
    routes = _int_routes(app)
    assert len(routes) > 100  # the API and the pages
    for method, rule, names in routes:
        for huge in OUT_OF_RANGE:
            # The huge id in each int part in turn, the others plausible.
            for name in names:
                path = _path(rule, {n: (huge if n == name else 1) for n in names})
                response = admin_client.open(path, method=method, json={})
                _assert_refused_id(response, path)


def test_the_largest_id_still_routes(app, admin_client):
    response = admin_client.get(f"/api/project/{MAX_ID}")
    assert response.status_code == 404
    assert admin_client.get(f"/api/project/{'0' * 30}1").status_code == 404


def test_anonymous_requests_get_the_same_400(app, client):
    assert client.get(f"/api/project/{2**63}/templates").status_code == 400
    page = client.get(f"/project/{2**64}")
    assert page.status_code == 400 and b"out of range" in page.data


@pytest.mark.single_db
def test_ids_up_to_two_to_the_64_never_get_a_5xx(app, admin_client):
    routes = _int_routes(app)

    @given(
        route=st.sampled_from(routes),
        ids=st.lists(
            st.one_of(st.integers(0, 2**64), st.sampled_from([0, MAX_ID, MAX_ID + 1, 2**63])),
            min_size=3,
            max_size=3,
        ),
    )
    @settings(
        max_examples=300,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(route, ids):
        method, rule, names = route
        values = dict(zip(names, ids, strict=False))
        path = _path(rule, values)
        response = admin_client.open(path, method=method, json={})
        assert response.status_code < 500, (method, path, response.status_code)
        if any(value > MAX_ID for value in values.values()):
            _assert_refused_id(response, path)

    run()


# --- JSON nested inside string fields -------------------------------------------------------


@pytest.fixture
def world(app):
    return build_world()


@pytest.fixture
def owner_client(app, world):
    client = app.test_client()
    owner = db.session.get(User, world["owner"])
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {factories.api_token(owner)}"
    return client


def _write_cases(world) -> list[tuple[str, str, dict, str]]:
    p = f"/api/project/{world['project_id']}"
    env = {"name": "E", "project_id": world["project_id"], "json": "{}", "env": "{}"}
    template = {
        "name": "T",
        "project_id": world["project_id"],
        "playbook": "site.yml",
        "inventory_id": world["inventory_id"],
        "repository_id": world["repository_id"],
        "environment_id": world["environment_id"],
        "app": "ansible",
    }
    schedule = {"name": "S", "template_id": world["template_id"], "cron_format": "* * * * *"}
    integration = {"name": "I", "template_id": world["template_id"]}
    return [
        ("POST", f"{p}/environment", {**env, "json": DEEP_TEXT}, "json"),
        ("POST", f"{p}/environment", {**env, "env": DEEP_TEXT}, "env"),
        ("POST", f"{p}/environment", {**env, "json": JUST_TOO_DEEP}, "json"),
        (
            "PUT",
            f"{p}/environment/{world['environment_id']}",
            {**env, "id": world["environment_id"], "json": DEEP_TEXT},
            "json",
        ),
        ("POST", f"{p}/tasks", {"template_id": world["template_id"], "environment": DEEP_TEXT}, ""),
        ("POST", f"{p}/tasks", {"template_id": world["template_id"], "arguments": DEEP_TEXT}, ""),
        ("POST", f"{p}/templates", {**template, "arguments": DEEP_TEXT}, "arguments"),
        (
            "POST",
            f"{p}/templates",
            {**template, "task_params": {"environment": DEEP_TEXT}},
            "task_params",
        ),
        (
            "POST",
            f"{p}/schedules",
            {**schedule, "task_params": {"environment": DEEP_TEXT}},
            "task_params",
        ),
        (
            "POST",
            f"{p}/schedules",
            {**schedule, "task_params": {"arguments": JUST_TOO_DEEP}},
            "task_params",
        ),
        (
            "POST",
            f"{p}/integrations",
            {**integration, "task_params": {"environment": DEEP_TEXT}},
            "task_params",
        ),
        ("POST", "/api/user/options", {"key": "lang", "value": DEEP_TEXT}, "value"),
    ]


def test_deeply_nested_json_in_string_fields_is_400(app, world, owner_client):
    for method, path, body, _ in _write_cases(world):
        response = owner_client.open(path, method=method, json=body)
        assert response.status_code == 400, (method, path, list(body), response.get_data())
        assert "error" in response.get_json()


def test_deeply_nested_bodies_are_400(app, world, owner_client):
    p = f"/api/project/{world['project_id']}"
    for text in (DEEP_TEXT, '{"name": ' + JUST_TOO_DEEP + "}"):
        response = owner_client.post(f"{p}/inventory", data=text, content_type="application/json")
        assert response.status_code == 400
        assert response.get_json()["error"] in (
            "Request body is not valid JSON",
            f"Request body is nested too deeply (at most {MAX_JSON_DEPTH} levels)",
        )


def test_app_args_and_backups_refuse_deep_text(app, world, admin_client, owner_client):
    args = admin_client.put("/api/apps/bash", json={"args": DEEP_TEXT})
    assert args.status_code == 400
    backup = owner_client.get(f"/api/project/{world['project_id']}/backup").get_json()
    backup["templates"][0]["arguments"] = DEEP_TEXT
    backup["meta"]["name"] = "Restored"
    restored = owner_client.post("/api/projects/restore", json=backup)
    assert restored.status_code == 400
    message = f"arguments is nested too deeply (at most {MAX_JSON_DEPTH} levels)"
    assert restored.get_json()["error"].endswith(message)


def test_a_webhook_with_a_deeply_nested_body_is_answered_204(app, world):
    response = app.test_client().post(
        f"/api/integrations/own{world['integration_id']:013d}",
        data=DEEP_TEXT,
        content_type="application/json",
        headers={"X-Event": "push"},
    )
    assert response.status_code == 204


def _deep_strings():
    deep = st.sampled_from([DEEP_TEXT, JUST_TOO_DEEP, "{" * 3000, '"' + "[" * 2000 + '"'])
    names = st.sampled_from(
        [
            "name",
            "json",
            "env",
            "environment",
            "arguments",
            "survey_vars",
            "value",
            "message",
            "playbook",
            "inventory",
            "args",
            "secret",
            "git_branch",
            "limit",
        ]
    )
    value = st.one_of(deep, st.fixed_dictionaries({"environment": deep, "arguments": deep}))
    return st.dictionaries(names, value, min_size=1, max_size=6)


@pytest.mark.single_db
def test_deep_strings_on_every_write_route_never_get_a_5xx(app, world, owner_client):
    writes = []
    for method, rule, names in _int_routes(app):
        if rule.startswith("/api/project/<int:project_id>") and method in ("POST", "PUT"):
            writes.append((method, _path(rule, {n: world[n] for n in names if n in world.ids})))
    writes = [(m, path) for m, path in writes if "<" not in path]
    assert len(writes) > 20

    @given(route=st.sampled_from(writes), body=_deep_strings(), task_params=st.booleans())
    @settings(
        max_examples=200,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(route, body, task_params):
        method, path = route
        if task_params:
            body = {**body, "task_params": {"environment": DEEP_TEXT, "arguments": DEEP_TEXT}}
        response = owner_client.open(path, method=method, json=body)
        assert response.status_code < 500, (method, path, list(body), response.get_data()[:300])

    run()


def test_pages_show_deeply_nested_json_as_a_field_error(app, world):
    web = Browser(app)
    web.log_in(db.session.get(User, world["owner"]))
    base = f"/project/{world['project_id']}"
    for path, field in ((f"{base}/environment/new", "json"), (f"{base}/environment/new", "env")):
        form = {"name": "deep", "json": "{}", "env": "", field: DEEP_TEXT}
        response = web.submit(path, form)
        assert response.status_code == 422, (path, field)
        assert f'data-testid="error-{field}"' in response.get_data(as_text=True)
