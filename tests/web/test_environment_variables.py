"""The environment form's variables: typed as JSON or YAML (YAML is stored as JSON), checked as
they are typed by a route that saves nothing, for those who may edit environments only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Environment, ProjectUser
from tests import factories
from tests.web.helpers import csrf_token

YAML = "version: '1.2'\nhosts:\n  - web1\n  - web2\ndebug: true\n"


def _html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def as_owner(web, owner, project):
    web.log_in(owner)
    return web


def _saved(name: str) -> Environment:
    return db.session.scalars(select(Environment).filter_by(name=name)).one()


def test_yaml_is_stored_as_json_and_json_as_typed(as_owner, project):
    base = f"/project/{project.id}/environment"
    created = as_owner.submit(
        f"{base}/new", {"name": "prod", "json": YAML, "env": "HTTP_PROXY: http://proxy:3128"}
    )
    assert created.status_code == 303, _html(created)
    environment = _saved("prod")
    assert json.loads(environment.json) == {
        "version": "1.2",
        "hosts": ["web1", "web2"],
        "debug": True,
    }
    assert json.loads(environment.env) == {"HTTP_PROXY": "http://proxy:3128"}

    typed = '{"version": "2.0"}'
    edited = as_owner.submit(f"{base}/{environment.id}/edit", {"name": "prod", "json": typed})
    assert edited.status_code == 303
    db.session.expire_all()
    assert _saved("prod").json == typed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1, 2\nb: 3", "Extra variables are neither JSON nor YAML: "),
        ("- a\n- b", "Extra variables must be a JSON object"),
        ("{}}", "Extra variables are neither JSON nor YAML: "),
        ("a: " + "[" * 3000 + "]" * 3000, "Extra variables "),
        ("a: " + "[" * 150 + "]" * 150, "Extra variables is nested too deeply"),
    ],
)
def test_what_is_not_an_object_is_refused_at_the_field(as_owner, project, text, message):
    refused = as_owner.submit(
        f"/project/{project.id}/environment/new", {"name": "prod", "json": text}
    )
    assert refused.status_code == 422
    html = _html(refused)
    assert f'data-testid="error-json">{message}' in html
    assert db.session.scalars(select(Environment)).all() == []


def test_every_problem_of_the_form_shows_at_once(as_owner, project):
    refused = as_owner.submit(
        f"/project/{project.id}/environment/new",
        {"name": "", "json": "[1, 2]", "env": '{"A": {"nested": 1}}'},
    )
    assert refused.status_code == 422
    html = _html(refused)
    assert 'data-testid="error-name">Name is required' in html
    assert 'data-testid="error-json">Extra variables must be a JSON object' in html
    assert 'data-testid="error-env">Environment variables: values must be scalar' in html
    assert db.session.scalars(select(Environment)).all() == []


def test_the_api_still_answers_with_the_first_problem(app, owner, project):
    api = factories.api_client(app, owner)
    answer = api.post(
        f"/api/project/{project.id}/environment",
        json={"project_id": project.id, "name": "", "json": "[1, 2]"},
    )
    assert answer.status_code == 400
    assert answer.get_json() == {"error": "name is required"}


def _check(web, project, field: str, text: str, page: str = "/"):
    token = csrf_token(_html(web.get(page)))
    return web.post(
        f"/project/{project.id}/environment/check-variables?field={field}",
        data={field: text, "name": "ignored"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )


@pytest.mark.parametrize(
    ("field", "text", "shown"),
    [
        ("json", YAML, "Valid"),
        ("json", '{"a": 1}', "Valid"),
        ("json", "[1, 2]", "Extra variables must be a JSON object"),
        ("json", "a: [1", "Extra variables are neither JSON nor YAML: "),
        ("json", "", "Extra variables must be valid JSON"),
        ("env", "PROXY: {nested: 1}", "Environment variables: values must be scalar"),
        ("env", "", ""),
    ],
)
def test_the_inline_check_says_valid_or_why_not(as_owner, project, field, text, shown):
    answer = _check(as_owner, project, field, text)
    assert answer.status_code == 200
    html = _html(answer)
    assert f'data-testid="check-{field}"' in html and f'aria-live="polite">{shown}' in html
    assert ("valid" in html.split('"')[1]) == (shown in ("Valid", ""))
    assert db.session.scalars(select(Environment)).all() == []


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("owner", 200),
        ("manager", 200),
        ("task_runner", 403),
        ("guest", 403),
        ("non-member", 404),
        ("anonymous", 302),
    ],
)
def test_the_inline_check_is_for_those_who_edit_environments(web, project, who, status):
    page = "/"
    if who == "anonymous":
        page = "/auth/login"
    else:
        user = factories.user(admin=who == "admin")
        if who not in ("admin", "non-member"):
            db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=who))
            db.session.commit()
        web.log_in(user)
    answer = _check(web, project, "json", "{}", page)
    assert answer.status_code == status
    if status == 302:
        assert "/auth/login" in answer.headers["Location"]
    if status == 200:
        assert _html(answer).endswith('aria-live="polite">Valid</div>')


def test_the_form_checks_its_variables_as_they_are_typed(as_owner, project):
    html = _html(as_owner.get(f"/project/{project.id}/environment/new"))
    url = f"/project/{project.id}/environment/check-variables?field=json"
    assert f'hx-post="{url}"' in html and 'hx-target="#check-json"' in html
    assert 'id="check-json"' in html and 'id="check-env"' in html


def test_a_get_of_the_check_goes_to_the_environments(as_owner, project):
    answer = as_owner.get(f"/project/{project.id}/environment/check-variables")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/project/{project.id}/environment")
