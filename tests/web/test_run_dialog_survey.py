"""The run dialog's survey inputs, as HTML: each type's input with its default, the answers in
their types, a refused answer at its field, and a typed secret never written back."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Task
from tests import factories
from tests.api.test_survey import DEFAULTS, SURVEY

HTMX = {"HX-Request": "true"}
SECRET = "n0t-in-the-page"
# What the task stores for the answers the tests type (answers() here, the browser's).
TYPED = {
    "region": "eu-west",
    "note": "first\nsecond",
    "replicas": 4,
    "verbose": False,
    "tier": "bronze",
    "services": ["web", "db"],
}


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Deploy", survey_vars=SURVEY)


def run_path(project, template):
    return f"/project/{project.id}/templates/{template.id}/run"


def answers(**overrides):
    fields = {
        "survey_0": "eu-west",
        "survey_1": "first\nsecond",
        "survey_2": "4",
        "survey_4": "bronze",
        "survey_5": ["web", "db"],
        "survey_6": SECRET,
    }  # survey_3, the boolean, is left unticked
    fields.update(overrides)
    return {name: value for name, value in fields.items() if value is not None}


def stored_tasks():
    db.session.expire_all()
    return db.session.scalars(select(Task)).all()


def test_each_input_opens_with_its_default(web, owner, project, template):
    web.log_in(owner)
    page = web.get(run_path(project, template)).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="survey_0"[^>]*type="text"', page)
    assert "Region *" in page and "Where" in page
    assert re.search(r'<textarea[^>]*name="survey_1"[^>]*>\s*line 1\nline 2</textarea>', page)
    assert re.search(r'<input[^>]*name="survey_2"[^>]*value="2"', page)
    assert re.search(r'<input checked[^>]*name="survey_3"[^>]*type="checkbox"', page)
    assert '<option selected value="gold">' in page
    ticked = re.findall(
        r'<input (checked )?[^>]*name="survey_5" type="checkbox" value="(\w+)"', page
    )
    assert ticked == [("checked ", "api"), ("checked ", "web"), ("", "db")]
    assert re.search(r'<input[^>]*name="survey_6"[^>]*type="password"', page)


def test_answers_reach_the_task_in_their_types(web, owner, project, template):
    web.log_in(owner)
    response = web.submit(run_path(project, template), answers(), headers=HTMX)
    assert response.status_code == 204, response.get_data(as_text=True)
    [task] = stored_tasks()
    assert json.loads(task.environment) == TYPED


def test_emptied_inputs_fall_back_to_their_defaults(web, owner, project, template):
    web.log_in(owner)
    fields = answers(survey_1="", survey_2="", survey_3="y", survey_4="", survey_5=None)
    response = web.submit(run_path(project, template), fields, headers=HTMX)
    assert response.status_code == 204, response.get_data(as_text=True)
    # Nothing ticked in a select is an answer: no values.
    assert json.loads(stored_tasks()[0].environment) == {
        **DEFAULTS,
        "region": "eu-west",
        "services": [],
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("survey_0", "", "Region is required"),
        ("survey_2", "four", "Replicas must be an integer"),
        ("survey_4", "platinum", "Tier must be one of: gold, bronze"),
        ("survey_5", ["web", "cache"], "Services must be a list of the values api, web, db"),
        ("survey_6", "", "Token is required"),
    ],
)
def test_a_refused_answer_shows_at_its_field(web, owner, project, template, field, value, message):
    web.log_in(owner)
    response = web.submit(run_path(project, template), answers(**{field: value}), headers=HTMX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'data-testid="error-{field}">([^<]*)<', html)
    assert error and error.group(1) == message
    assert html.count('class="field-error"') == 1
    assert stored_tasks() == []


def test_a_typed_secret_is_kept_through_a_refused_submit(web, owner, project, template):
    web.log_in(owner)
    response = web.submit(run_path(project, template), answers(survey_2="four"), headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'<input[^>]*name="survey_6"[^>]*type="password"[^>]*value="{SECRET}"', html)
    fresh = web.get(run_path(project, template)).get_data(as_text=True)
    assert SECRET not in fresh
