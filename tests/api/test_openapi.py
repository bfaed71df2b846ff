"""GET /api/openapi.json: generated from the routes and the schemas, valid OpenAPI 3.1, every
API route in it, and the same operations as the original's contract but for the differences
listed here with their reasons."""

from __future__ import annotations

import functools
import inspect
import re

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.versions.shortcuts import get_spec_version

from semaphore.schemas.base import InputModel, OutputModel
from tests.api.openapi_diff import differences, normalized, our_operations

pytestmark = pytest.mark.single_db

# Every deliberate difference from the contract, as patterns with their reasons (README,
# "Where we deliberately differ"). The test fails on a difference no pattern explains, and on a
# pattern that explains nothing any more.
_TASKS = r"(GET|POST) /project/\{\}/tasks(/\{\}|/last)? 20[01]"
DELIBERATE: list[tuple[str, str]] = [
    (
        rf"^{_TASKS}: field \w+ added$",
        "the original answers every column of a task (REFERENCE.md, Task); the contract's Task "
        "lists a few; one task shape serves the four task answers",
    ),
    (
        r"^GET /(project/\{\}/)?events(/last)? 200: field "
        r"(created|integration_id|object_name|project_name|username) added$",
        "the original's events carry these names and times; the contract leaves them out",
    ),
    (
        r"^(GET|POST) /project/\{\}/inventory(/\{\})? 20[01]: field holder_id added$",
        "the original's inventory has holder_id (the terraform workspace holder)",
    ),
    (
        r"^(GET|POST) /project/\{\}/keys 20[01]: field "
        r"(ssh|login_password|override_secret|empty) added$",
        "the original echoes the secret objects empty, and marks secretless keys in lists",
    ),
    (
        r"^(GET|POST) /project/\{\}/templates(/\{\})? 20[01]: field "
        r"(allow_override_branch_in_task|last_task|tasks|runner_tag) added$",
        "the original's template answers carry these (2.16); the contract predates them",
    ),
    (
        r"^(POST|PUT) /project/\{\}/templates(/\{\})? request: field "
        r"(allow_override_branch_in_task|runner_tag) added$",
        "the original's templates take allow_override_branch_in_task and runner_tag (2.16)",
    ),
    (
        r"^(GET|POST|PUT) /project/\{\}/templates(/\{\})?( request| 20[01]): field "
        r"max_task_duration_sec added$",
        "a template's own timeout is ours, as AWX's (README, Timeouts)",
    ),
    (
        r"^(GET|POST|PUT) /project/\{\}/schedules(/\{\})?( request| 20[01]): field "
        r"repository_id added$",
        "the original's repository-bound schedules (run on a new commit) name their repository",
    ),
    (
        r"^POST /project/\{\}/tasks request: field "
        r"(build_task_id|commit_hash|params|secret) added$",
        "the original's task request takes these (deploys, a commit to check out, 2.16 "
        "params, secret survey values)",
    ),
    (
        r"^(POST|PUT) /project/\{\}/views(/\{\})? request: field "
        r"(hidden|sort_column|sort_reverse|type) added$",
        "the original's views take their display settings",
    ),
    (
        r"^GET /project/\{\}/tasks/\{\}/output 200: field task added$",
        "each output line names its task, as the original's TaskOutput",
    ),
    (r"^GET /user 200: field can_create_project added$", "the original's /user answer"),
    (
        r"^(GET|POST) /user/tokens( request| 20[01]): field (expires|expires_in_days) added$",
        "expiring API tokens are ours (README, Sessions and API tokens)",
    ),
    (r"^GET /auth/login 200: field login_with_password added$", "the original's login metadata"),
    (
        r"^PUT /users/\{\} request: field password added$",
        "an admin may set a password with the user, as the original's user form",
    ),
    (
        r"^POST /projects request: field (alert|alert_chat|max_parallel_tasks) missing$",
        "the original's AddProject takes only name and type (README); PUT sets the rest",
    ),
    (
        r"^((GET|PUT) /project/\{\}|(GET|POST) /projects|POST /projects/restore)"
        r"( request| 20[01]): field task_retention_days added$",
        "a project's own task retention is ours (README, Task retention)",
    ),
    (
        r"^PUT /project/\{\} request: field demo missing$",
        "demo content is seeded only when a project is created",
    ),
    (
        r"^GET /project/\{\}/role 200: field permissions is integer, contract number$",
        "the permission bits are a whole number, which is a JSON number",
    ),
]


@pytest.fixture(scope="module")
def document(app_module_client):
    response = app_module_client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture(scope="module")
def app_module_client(tmp_path_factory, redis_server):
    from semaphore import create_app
    from tests.conftest import make_config

    data_dir = tmp_path_factory.mktemp("openapi")
    app = create_app(make_config(data_dir, f"sqlite:///{data_dir}/db.sqlite", redis_server.url))
    return app.test_client()


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    assert get_spec_version(document).major == "3"
    validate(document)


def test_every_api_route_is_in_the_document(app_module_client, document):
    app = app_module_client.application
    documented = set(our_operations(document))
    missing = []
    for rule in app.url_map.iter_rules():
        path = str(rule)
        if not path.startswith("/api/") or rule.endpoint.startswith("openapi"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            flask_path = normalized(path.removeprefix("/api").replace("<", "{").replace(">", "}"))
            if (method.lower(), flask_path) not in documented:
                missing.append(f"{method} {path}")
    assert missing == []


def test_the_document_matches_the_contract_but_for_the_listed_differences(document):
    found = differences(document)
    patterns = [re.compile(pattern) for pattern, _ in DELIBERATE]
    unexplained = [line for line in found if not any(p.search(line) for p in patterns)]
    stale = [p.pattern for p in patterns if not any(p.search(line) for line in found)]
    assert unexplained == [], "differences from the contract not listed as deliberate"
    assert stale == [], "listed differences that no longer occur: remove them from DELIBERATE"


@functools.cache
def _schema_models() -> list[type]:
    import importlib
    import pkgutil

    import semaphore.schemas

    models = []
    for module_info in pkgutil.iter_modules(semaphore.schemas.__path__):
        module = importlib.import_module(f"semaphore.schemas.{module_info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, InputModel | OutputModel) and value.__module__ == module.__name__:
                models.append(value)
    return models


def test_schema_names_are_unique():
    # Components are named after their models, so two models of one name would merge.
    names = [model.__name__ for model in _schema_models()]
    assert sorted({name for name in names if names.count(name) > 1}) == []


def test_the_reference_page_uses_only_vendored_assets(app_module_client):
    page = app_module_client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        static = app_module_client.get(f"/static/vendor/swagger-ui-5.35.0/{asset}")
        assert static.status_code == 200
