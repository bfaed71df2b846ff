"""Survey variables of every type: defaults checked when a template is saved, answers checked
when a task starts (the API's and an integration's), defaults filling what is not given."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from semaphore.config import current_config
from semaphore.extensions import db
from semaphore.models import IntegrationDeliveryOutcome, Task, Template
from semaphore.security.crypto import unseal
from semaphore.services.permissions import ProjectAccess
from tests import factories
from tests.api.test_integration_hooks import deliver, integration

TIERS = [{"name": "Gold", "value": "gold"}, {"name": "Bronze", "value": "bronze"}]
SERVICES = [
    {"name": "API", "value": "api"},
    {"name": "Web", "value": "web"},
    {"name": "DB", "value": "db"},
]
SURVEY = [
    {"name": "region", "title": "Region", "type": "", "required": True, "description": "Where"},
    {"name": "note", "title": "Note", "type": "text", "default_value": "line 1\nline 2"},
    {"name": "replicas", "title": "Replicas", "type": "int", "default_value": "2"},
    {"name": "verbose", "title": "Verbose", "type": "boolean", "default_value": True},
    {"name": "tier", "title": "Tier", "type": "enum", "values": TIERS, "default_value": "gold"},
    {"name": "services", "title": "Services", "type": "select", "values": SERVICES,
     "default_value": ["api", "web"]},
    {"name": "token", "title": "Token", "type": "secret", "required": True},
]  # fmt: skip
D = "the default value of v "  # how a refused default is named
DEFAULTS = {
    "note": "line 1\nline 2",
    "replicas": 2,
    "verbose": True,
    "tier": "gold",
    "services": ["api", "web"],
}


@pytest.fixture
def project(user_api):
    return factories.project(members={user_api.user: "manager"})


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Deploy", survey_vars=SURVEY)


def template_body(project, survey_vars):
    return {
        "name": "Surveyed",
        "app": "bash",
        "playbook": "run.sh",
        "repository_id": factories.repository(project=project).id,
        "survey_vars": survey_vars,
    }


def start(user_api, project, template, environment=None, secret=None):
    data = {"template_id": template.id}
    if environment is not None:
        data["environment"] = json.dumps(environment)
    if secret is not None:
        data["secret"] = json.dumps(secret)
    return user_api.post(f"/api/project/{project.id}/tasks", json=data)


def stored_tasks():
    return db.session.scalars(select(Task).order_by(Task.id)).all()


def secret_of(task):
    return json.loads(unseal(task.secret, current_config().secret_bytes("access_key_encryption")))


# --- a template's defaults ----------------------------------------------------------------------


def test_a_template_keeps_each_types_default_as_given(user_api, project):
    response = user_api.post(
        f"/api/project/{project.id}/templates", json=template_body(project, SURVEY)
    )
    assert response.status_code == 201, response.get_json()
    answered = response.get_json()["survey_vars"]
    assert [var["default_value"] for var in answered if "default_value" in var] == [
        "line 1\nline 2",
        "2",
        True,
        "gold",
        ["api", "web"],
    ]
    stored = db.session.get(Template, response.get_json()["id"]).survey_vars
    assert [var["type"] for var in stored] == [
        "",
        "text",
        "int",
        "boolean",
        "enum",
        "select",
        "secret",
    ]
    read = user_api.get(f"/api/project/{project.id}/templates/{response.get_json()['id']}")
    assert read.get_json()["survey_vars"] == answered


@pytest.mark.parametrize(
    ("var", "message"),
    [
        ({"type": "int", "default_value": "two"}, D + "must be an integer"),
        ({"type": "int", "default_value": "2.5"}, D + "must be an integer"),
        ({"type": "boolean", "default_value": "yes"}, D + "must be true or false"),
        ({"type": "boolean", "default_value": 1}, D + "must be true or false"),
        ({"type": "enum", "values": TIERS, "default_value": "platinum"},
         D + "must be one of: gold, bronze"),
        ({"type": "select", "values": SERVICES, "default_value": ["api", "cache"]},
         D + "must be a list of the values api, web, db"),
        ({"type": "select", "values": SERVICES, "default_value": "cache"},
         D + "must be a list of the values api, web, db"),
        ({"type": "text", "default_value": ["a"]}, D + "must be a string"),
        ({"type": "", "default_value": 5}, D + "must be a string"),
        ({"type": "select"}, "a select needs at least one value"),
        ({"type": "enum"}, "an enum needs at least one value"),
        ({"type": "float"}, "type must be one of '', int, secret, enum, text, boolean, select"),
        ({"type": "", "default_value": {"a": 1}}, "default_value must be a string, an integer, "
         "true or false, or a list of strings"),
    ],
)  # fmt: skip
def test_a_bad_default_is_refused_naming_the_variable(user_api, project, var, message):
    survey = [{"name": "ok", "type": "int", "default_value": 1}, {"name": "v", **var}]
    response = user_api.post(
        f"/api/project/{project.id}/templates", json=template_body(project, survey)
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": f"survey_vars[1]: {message}"}
    assert db.session.scalars(select(Template)).all() == []


def test_a_select_default_given_as_one_value_is_taken_as_a_list(user_api, project):
    # The original's select kept a single default as a string.
    survey = [{"name": "services", "type": "select", "values": SERVICES, "default_value": "db"}]
    response = user_api.post(
        f"/api/project/{project.id}/templates", json=template_body(project, survey)
    )
    assert response.status_code == 201
    template = db.session.get(Template, response.get_json()["id"])
    assert start(user_api, project, template).status_code == 201
    assert json.loads(stored_tasks()[0].environment) == {"services": ["db"]}


# --- a task's answers ---------------------------------------------------------------------------


def test_accepted_answers_reach_the_task_in_their_types(user_api, project, template):
    given = {
        "region": "eu-west",
        "note": "first\nsecond",
        "replicas": "3",
        "verbose": "false",
        "tier": "bronze",
        "services": ["db"],
        "extra": "kept",
    }
    response = start(user_api, project, template, given, {"token": "s3cret"})
    assert response.status_code == 201, response.get_json()
    [task] = stored_tasks()
    assert json.loads(task.environment) == {**given, "replicas": 3, "verbose": False}
    assert secret_of(task) == {"token": "s3cret"}


def test_answers_already_in_their_types_are_stored_as_given(user_api, project, template):
    text = json.dumps({"region": "eu", **DEFAULTS}, indent=1)
    data = {"template_id": template.id, "environment": text, "secret": '{"token": "x"}'}
    assert user_api.post(f"/api/project/{project.id}/tasks", json=data).status_code == 201
    assert stored_tasks()[0].environment == text


def test_missing_answers_take_their_defaults(user_api, project, template):
    response = start(user_api, project, template, {"region": "eu"}, {"token": "x"})
    assert response.status_code == 201, response.get_json()
    assert json.loads(stored_tasks()[0].environment) == {"region": "eu", **DEFAULTS}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"replicas": "three"}, "replicas must be an integer"),
        ({"replicas": 2.5}, "replicas must be an integer"),
        ({"replicas": True}, "replicas must be an integer"),
        ({"verbose": "yes"}, "verbose must be true or false"),
        ({"verbose": 1}, "verbose must be true or false"),
        ({"tier": "platinum"}, "tier must be one of: gold, bronze"),
        ({"services": "api"}, "services must be a list of the values api, web, db"),
        ({"services": ["api", "cache"]}, "services must be a list of the values api, web, db"),
        ({"region": ""}, "region is required"),
        ({"region": None}, "region is required"),
    ],
)
def test_refused_answers_are_400_naming_the_variable(user_api, project, template, answers, message):
    response = start(user_api, project, template, {"region": "eu", **answers}, {"token": "x"})
    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert stored_tasks() == []


def test_a_required_answer_missing_is_400(user_api, project, template):
    response = start(user_api, project, template, {}, {"token": "x"})
    assert (response.status_code, response.get_json()) == (400, {"error": "region is required"})
    response = start(user_api, project, template, {"region": "eu"})
    assert (response.status_code, response.get_json()) == (400, {"error": "token is required"})
    assert stored_tasks() == []


# --- an integration's run -----------------------------------------------------------------------


def test_an_integration_started_run_gets_the_defaults(api, project, template):
    system = ProjectAccess(project, None, "")
    template.survey_vars = [var for var in SURVEY if var["name"] != "token"]
    db.session.commit()
    value = {
        "value_source": "body",
        "body_data_type": "json",
        "key": "count",
        "variable": "replicas",
    }
    value_region = {"value_source": "header", "key": "X-Region", "variable": "region"}
    _, alias = integration(system, template, values=(value, value_region))
    body = json.dumps({"count": 5}).encode()
    deliver(api, alias, body, {"Content-Type": "application/json", "X-Region": "eu"})
    [task] = stored_tasks()
    assert task.integration_id is not None
    assert json.loads(task.environment) == {**DEFAULTS, "region": "eu", "replicas": 5}

    # A value the survey refuses starts nothing, and the delivery says why.
    deliver(api, alias, json.dumps({"count": "many"}).encode(), {"X-Region": "eu"})
    assert len(stored_tasks()) == 1
    reasons = db.session.scalars(select(IntegrationDeliveryOutcome.reason)).all()
    assert reasons[-1] == "the task was not started: replicas must be an integer"
