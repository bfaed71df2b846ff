"""The template form's row editors (survey variables, vaults, arguments): rows become the API's
lists, every problem of a refused form is shown at once at its row's field in the form's words,
what was typed stays, the row buttons work without JavaScript, and the API answers as before."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from semaphore.errors import ValidationError
from semaphore.extensions import db
from semaphore.models import Template, TemplateVault
from semaphore.schemas.base import parse
from semaphore.schemas.templates import TemplateIn
from tests import factories
from tests.web.helpers import form_values


@pytest.fixture
def world(web, owner, project):
    web.log_in(owner)
    return {
        "repo": factories.repository(project=project, name="site"),
        "inventory": factories.inventory(project=project, name="hosts"),
        "prod": factories.key(project=project, name="prod-vault", type="login_password"),
        "stage": factories.key(project=project, name="stage-vault", type="login_password"),
        "base": f"/project/{project.id}/templates",
    }


def _html(response) -> str:
    return response.get_data(as_text=True)


def _values(html: str):
    """What the browser sends for the template form as it stands (not the sidebar's forms)."""
    return form_values(html[html.index('<form method="post" novalidate data-testid="template') :])


def _errors(html: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for field, text in re.findall(r'data-testid="error-([^"]+)">([^<]*)<', html):
        found.setdefault(field, []).append(text)
    return found


def _fields(world, **more) -> dict:
    return {
        "name": "Deploy",
        "app": "ansible",
        "playbook": "site.yml",
        "repository_id": str(world["repo"].id),
        "inventory_id": str(world["inventory"].id),
        **more,
    }


ROWS = {
    "survey_vars-0-name": "version",
    "survey_vars-0-title": "Version",
    "survey_vars-0-type": "",
    "survey_vars-0-default_value": "1.0",
    "survey_vars-0-description": "Which release",
    "survey_vars-1-name": "replicas",
    "survey_vars-1-title": "Replicas",
    "survey_vars-1-type": "int",
    "survey_vars-1-required": "y",
    "survey_vars-1-default_value": "3",
    "survey_vars-2-name": "region",
    "survey_vars-2-type": "enum",
    "survey_vars-2-values-0-name": "Europe",
    "survey_vars-2-values-0-value": "eu",
    "survey_vars-2-values-1-name": "America",
    "survey_vars-2-values-1-value": "us",
    "arguments-0": "--diff",
    "arguments-1": "--check",
}


def test_rows_are_stored_as_the_apis_lists_and_come_back_on_edit(web, world):
    vaults = {
        "vaults-0-name": "prod",
        "vaults-0-type": "password",
        "vaults-0-vault_key_id": str(world["prod"].id),
        "vaults-1-name": "",
        "vaults-1-type": "script",
        "vaults-1-script": "vault/get-pass.sh",
    }
    created = web.submit(f"{world['base']}/new", _fields(world, **ROWS, **vaults))
    assert created.status_code == 303, _errors(_html(created))
    template = db.session.scalars(select(Template).filter_by(name="Deploy")).one()
    assert template.survey_vars == [
        {
            "name": "version",
            "title": "Version",
            "description": "Which release",
            "type": "",
            "required": False,
            "values": [],
            "default_value": "1.0",
        },
        {
            "name": "replicas",
            "title": "Replicas",
            "description": "",
            "type": "int",
            "required": True,
            "values": [],
            "default_value": 3,
        },
        {
            "name": "region",
            "title": "",
            "description": "",
            "type": "enum",
            "required": False,
            "values": [{"name": "Europe", "value": "eu"}, {"name": "America", "value": "us"}],
        },
    ]
    assert json.loads(template.arguments) == ["--diff", "--check"]
    stored = _vaults(template.id)
    assert [(v.name, v.type, v.vault_key_id, v.script) for v in stored] == [
        ("prod", "password", world["prod"].id, None),
        (None, "script", None, "vault/get-pass.sh"),
    ]

    # The edit page shows the rows filled (keys by name), and saving it unchanged keeps all,
    # the vaults' rows included.
    edit_url = f"{world['base']}/{template.id}/edit"
    page = _html(web.get(edit_url))
    assert "prod-vault" in page and f"(id {world['prod'].id})" not in page
    values = _values(page)
    assert values["survey_vars-2-values-1-value"] == "us"
    assert values["vaults-0-vault_key_id"] == str(world["prod"].id)
    assert values.getlist("arguments-1") == ["--check"]
    survey_before = template.survey_vars
    saved = web.post(edit_url, data=values)
    assert saved.status_code == 303, _errors(_html(saved))
    db.session.expire_all()
    assert db.session.get(Template, template.id).survey_vars == survey_before
    assert [v.id for v in _vaults(template.id)] == [v.id for v in stored]


def _vaults(template_id: int) -> list[TemplateVault]:
    query = select(TemplateVault).filter_by(template_id=template_id).order_by(TemplateVault.id)
    return list(db.session.scalars(query))


def test_every_problem_is_shown_at_once_at_its_row(web, world):
    refused = web.submit(
        f"{world['base']}/new",
        _fields(
            world,
            name="",
            inventory_id="",
            **{
                "survey_vars-0-name": "token",
                "survey_vars-0-type": "secret",
                "survey_vars-0-default_value": "s3cret-typed",
                "survey_vars-1-title": "No name",
                "survey_vars-2-name": "region",
                "survey_vars-2-type": "enum",
                "survey_vars-3-name": "count",
                "survey_vars-3-type": "int",
                "survey_vars-3-default_value": "many",
                "vaults-0-type": "password",
                "vaults-0-vault_key_id": "",
                "arguments-0": "--diff",
            },
        ),
    )
    assert refused.status_code == 422
    html = _html(refused)
    assert _errors(html) == {
        "name": ["Name is required"],
        "inventory_id": ["Inventory is required"],
        "survey_vars-1-name": ["Name is required"],
        "survey_vars-2-values": ["An enum needs at least one value"],
        "survey_vars-3-default_value": ["The default value of count must be an integer"],
        "vaults-0-vault_key_id": ["Password key is required"],
    }
    # What was typed is still there, the secret default too.
    values = _values(html)
    assert values["survey_vars-0-default_value"] == "s3cret-typed"
    assert values["survey_vars-1-title"] == "No name"
    assert values["arguments-0"] == "--diff"
    assert db.session.scalars(select(Template)).all() == []


def test_a_vault_key_of_another_project_is_refused_at_its_row(web, world):
    other = factories.key(type="login_password")
    refused = web.submit(
        f"{world['base']}/new",
        _fields(world, **{"vaults-0-vault_key_id": str(world["prod"].id)})
        | {"vaults-1-name": "two", "vaults-1-vault_key_id": str(other.id)},
    )
    assert refused.status_code == 422
    assert _errors(_html(refused)) == {
        "vaults-1-vault_key_id": [f"Access key {other.id} does not exist in this project"]
    }


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("survey_vars-add", ["a", "b", ""]),
        ("survey_vars-0-remove", ["b"]),
        ("survey_vars-1-up", ["b", "a"]),
        ("survey_vars-0-down", ["b", "a"]),
        ("survey_vars-1-down", ["a", "b"]),
    ],
)
def test_row_buttons_work_without_javascript(web, world, action, expected):
    rows = {
        "survey_vars-0-name": "a",
        "survey_vars-0-type": "enum",
        "survey_vars-0-values-0-value": "x",
        "survey_vars-1-name": "b",
    }
    shown = web.submit(f"{world['base']}/new", _fields(world, row_action=action, **rows))
    assert shown.status_code == 200
    values = _values(_html(shown))
    names = [values.get(f"survey_vars-{i}-name") for i in range(len(expected))]
    assert names == expected and f"survey_vars-{len(expected)}-name" not in values
    # The enum's values move with their row.
    position = expected.index("a") if "a" in expected else None
    if position is not None:
        assert values[f"survey_vars-{position}-values-0-value"] == "x"
    assert db.session.scalars(select(Template)).all() == []  # nothing saved


def test_value_vault_and_argument_rows_are_added_and_removed_without_javascript(web, world):
    base = _fields(world, **{"survey_vars-0-name": "a", "arguments-0": "one", "arguments-1": "two"})
    added = _values(
        _html(
            web.submit(f"{world['base']}/new", {**base, "row_action": "survey_vars-0-values-add"})
        )
    )
    assert "survey_vars-0-values-0-value" in added
    vault = _values(_html(web.submit(f"{world['base']}/new", {**base, "row_action": "vaults-add"})))
    assert "vaults-0-name" in vault
    removed = _values(
        _html(web.submit(f"{world['base']}/new", {**base, "row_action": "arguments-0-remove"}))
    )
    assert removed.getlist("arguments-0") == ["two"] and "arguments-1" not in removed


def test_a_new_forms_page_carries_row_prototypes_for_the_script(web, world):
    page = _html(web.get(f"{world['base']}/new"))
    for kind in ("survey_vars", "values", "vaults", "arguments"):
        assert f'data-row-template="{kind}"' in page
    assert 'name="__list__-__index__-vault_key_id"' in page and "stage-vault" in page
    assert "js/editors.js" in page


def test_the_api_still_answers_with_the_first_problem_only(web, world, app):
    body = {"name": "", "app": "ansible", "playbook": "", "repository_id": world["repo"].id}
    try:
        parse(TemplateIn, body)
    except ValidationError as exc:
        assert exc.message == "name is required" and exc.field == "name"
        assert exc.problems == [("name is required", "name"), ("playbook is required", "playbook")]
    else:
        pytest.fail("refused body was accepted")


def test_the_apis_answer_names_the_first_problem_only(app, admin_api, project, world):
    key = world["prod"]
    body = {
        "name": "",
        "app": "ansible",
        "playbook": "site.yml",
        "repository_id": world["repo"].id,
        "survey_vars": [{"name": ""}],
        "vaults": [{"vault_key_id": key.id + 1000}],
    }
    refused = admin_api.post(f"/api/project/{project.id}/templates", json=body)
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "name is required"}
    fixed = {**body, "name": "T", "survey_vars": []}
    refused = admin_api.post(f"/api/project/{project.id}/templates", json=fixed)
    assert refused.get_json() == {"error": "inventory_id is required"}
