"""In the browser: a template's survey variables, vaults and arguments made with the row editors
(no JSON typed), stored as the API's lists, shown again on edit; wrong rows show their errors at
the row, several at once; the editors fit a phone, light and dark."""

from __future__ import annotations

import json
import os

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Environment, Template, TemplateVault
from semaphore.services import options
from tests import factories
from tests.browser.test_project_pages import log_in
from tests.browser.test_responsive_shell import overflow

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _seed():
    owner = factories.user(username="olive", name="Olive Owner")
    project = factories.project(name="Apollo", members={owner: "owner"})
    return {
        "owner": owner,
        "project": project,
        "repo": factories.repository(project=project, name="site"),
        "inventory": factories.inventory(project=project, name="hosts"),
        "prod": factories.key(project=project, name="prod-vault", type="login_password"),
        "stage": factories.key(project=project, name="stage-vault", type="login_password"),
    }


def _add(page: Page, rows: str, count: int = 1) -> None:
    for _ in range(count):
        page.get_by_test_id(f"add-{rows}").click()


def _parts(page: Page, name: str) -> None:
    """Screenshots of the editors alone (a phone's full page is too tall to look at)."""
    directory = os.environ.get("SEMAPHORE_SCREENSHOT_DIR")
    if directory:
        for editor in ("arguments", "vaults", "survey_vars"):
            path = f"{directory}/{name}-{editor}.png"
            page.get_by_test_id(f"editor-{editor}").screenshot(path=path, caret="initial")


def _vaults(template_id: int) -> list[TemplateVault]:
    query = select(TemplateVault).filter_by(template_id=template_id).order_by(TemplateVault.id)
    return list(db.session.scalars(query))


def test_a_template_is_made_with_the_editors(app, live_server, page, screenshot):
    world = _seed()
    page.set_viewport_size(SIZES["desktop"])
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{world['project'].id}/templates/new")
    page.get_by_test_id("field-name").fill("Deploy")
    page.get_by_test_id("field-playbook").fill("site.yml")
    page.get_by_test_id("field-repository_id").select_option(label="site")
    page.get_by_test_id("field-inventory_id").select_option(label="hosts")

    # Arguments: three rows, the middle one removed, the others kept in order.
    _add(page, "arguments", 3)
    page.get_by_test_id("field-arguments-0").fill("--diff")
    page.get_by_test_id("field-arguments-1").fill("junk")
    page.get_by_test_id("field-arguments-2").fill("--check")
    page.get_by_test_id("remove-arguments-1").click()
    expect(page.get_by_test_id("field-arguments-1")).to_have_value("--check")
    expect(page.get_by_test_id("field-arguments-2")).to_have_count(0)

    # Vaults: keys picked by name; a script vault shows its path instead of a key.
    _add(page, "vaults", 2)
    page.get_by_test_id("field-vaults-0-name").fill("prod")
    page.get_by_test_id("field-vaults-0-vault_key_id").select_option(label="prod-vault")
    page.get_by_test_id("field-vaults-1-name").fill("stage")
    page.get_by_test_id("field-vaults-1-type").select_option("script")
    expect(page.get_by_test_id("field-vaults-1-vault_key_id")).to_be_hidden()
    page.get_by_test_id("field-vaults-1-type").select_option("password")
    page.get_by_test_id("field-vaults-1-vault_key_id").select_option(label="stage-vault")
    expect(page.get_by_test_id("field-vaults-1-script")).to_be_hidden()

    # Survey: a line with a default, a required int, an enum with two values; the enum is
    # made first and moved down, its values moving with it.
    _add(page, "survey_vars", 3)
    page.get_by_test_id("field-survey_vars-0-name").fill("region")
    expect(page.get_by_test_id("values-survey_vars-0")).to_be_hidden()
    page.get_by_test_id("field-survey_vars-0-type").select_option("enum")
    expect(page.get_by_test_id("values-survey_vars-0")).to_be_visible()
    _add(page, "survey_vars-0-values", 2)
    page.get_by_test_id("field-survey_vars-0-values-0-name").fill("Europe")
    page.get_by_test_id("field-survey_vars-0-values-0-value").fill("eu")
    page.get_by_test_id("field-survey_vars-0-values-1-name").fill("America")
    page.get_by_test_id("field-survey_vars-0-values-1-value").fill("us")
    page.get_by_test_id("field-survey_vars-1-name").fill("version")
    page.get_by_test_id("field-survey_vars-1-title").fill("Version")
    page.get_by_test_id("field-survey_vars-1-default_value").fill("1.0")
    page.get_by_test_id("field-survey_vars-2-name").fill("replicas")
    page.get_by_test_id("field-survey_vars-2-type").select_option("int")
    page.get_by_test_id("field-survey_vars-2-required").check()
    page.get_by_test_id("field-survey_vars-2-default_value").fill("3")
    page.get_by_test_id("down-survey_vars-0").click()
    page.get_by_test_id("down-survey_vars-1").click()
    expect(page.get_by_test_id("field-survey_vars-0-name")).to_have_value("version")
    expect(page.get_by_test_id("field-survey_vars-2-name")).to_have_value("region")
    expect(page.get_by_test_id("field-survey_vars-2-values-1-value")).to_have_value("us")
    screenshot("template-editors-filled-desktop")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Template Deploy added")

    template = db.session.scalars(select(Template).filter_by(name="Deploy")).one()
    assert [
        (var["name"], var["type"], var.get("default_value")) for var in template.survey_vars
    ] == [
        ("version", "", "1.0"),
        ("replicas", "int", 3),
        ("region", "enum", None),
    ]
    assert template.survey_vars[1]["required"] is True
    assert template.survey_vars[2]["values"] == [
        {"name": "Europe", "value": "eu"},
        {"name": "America", "value": "us"},
    ]
    assert json.loads(template.arguments) == ["--diff", "--check"]
    vaults = _vaults(template.id)
    assert [(v.name, v.type, v.vault_key_id) for v in vaults] == [
        ("prod", "password", world["prod"].id),
        ("stage", "password", world["stage"].id),
    ]

    # Edit: the rows are filled in; saving keeps the vaults' rows (their ids).
    page.goto(f"{live_server}/project/{world['project'].id}/templates/{template.id}/edit")
    expect(page.get_by_test_id("field-survey_vars-2-values-1-value")).to_have_value("us")
    expect(page.get_by_test_id("field-survey_vars-1-required")).to_be_checked()
    expect(page.get_by_test_id("field-arguments-1")).to_have_value("--check")
    picked = page.get_by_test_id("field-vaults-1-vault_key_id").locator("option:checked")
    expect(picked).to_have_text("stage-vault")
    page.get_by_test_id("field-vaults-0-name").fill("production")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Template Deploy saved")
    db.session.expire_all()
    kept = _vaults(template.id)
    assert [(v.id, v.name) for v in kept] == [(vaults[0].id, "production"), (vaults[1].id, "stage")]


def test_wrong_rows_show_their_errors_at_once(app, live_server, page, screenshot):
    world = _seed()
    page.set_viewport_size(SIZES["desktop"])
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{world['project'].id}/templates/new")
    page.get_by_test_id("field-playbook").fill("site.yml")
    page.get_by_test_id("field-repository_id").select_option(label="site")
    _add(page, "survey_vars", 3)
    page.get_by_test_id("field-survey_vars-0-name").fill("token")
    page.get_by_test_id("field-survey_vars-0-type").select_option("secret")
    page.get_by_test_id("field-survey_vars-0-default_value").fill("typed-secret")
    page.get_by_test_id("field-survey_vars-1-title").fill("Nameless")
    page.get_by_test_id("field-survey_vars-2-name").fill("region")
    page.get_by_test_id("field-survey_vars-2-type").select_option("enum")
    _add(page, "vaults")
    # Enter in a row's field sends the form (Save), not one of the row buttons.
    page.get_by_test_id("field-survey_vars-1-title").press("Enter")

    expect(page.get_by_test_id("error-name")).to_have_text("Name is required")
    expect(page.get_by_test_id("error-inventory_id")).to_have_text("Inventory is required")
    row = page.get_by_test_id("row-survey_vars-1")
    expect(row.get_by_test_id("error-survey_vars-1-name")).to_have_text("Name is required")
    enum = page.get_by_test_id("row-survey_vars-2")
    expect(enum.get_by_test_id("error-survey_vars-2-values")).to_have_text(
        "An enum needs at least one value"
    )
    expect(enum.get_by_test_id("values-survey_vars-2")).to_be_visible()
    vault = page.get_by_test_id("row-vaults-0")
    expect(vault.get_by_test_id("error-vaults-0-vault_key_id")).to_have_text(
        "Password key is required"
    )
    # What was typed stays, the secret default too (typed unseen).
    secret = page.get_by_test_id("field-survey_vars-0-default_value")
    expect(secret).to_have_value("typed-secret")
    expect(secret).to_have_attribute("type", "password")
    expect(page.get_by_test_id("field-survey_vars-1-title")).to_have_value("Nameless")
    screenshot("template-editors-errors-desktop")
    assert db.session.scalars(select(Template)).all() == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_editors_fit_a_phone_in_both_themes(app, live_server, page, screenshot, size, scheme):
    world = _seed()
    options.set_color_scheme(world["owner"], scheme)
    template = factories.template(
        project=world["project"],
        name="Deploy",
        repository_id=world["repo"].id,
        inventory_id=world["inventory"].id,
        arguments='["--diff", "--limit=web-servers-in-the-eu-west-region"]',
        survey_vars=[
            {"name": "version", "title": "Version", "type": "", "default_value": "1.0"},
            {"name": "replicas", "title": "Replicas", "type": "int", "required": True},
            {
                "name": "region",
                "type": "enum",
                "values": [{"name": "Europe", "value": "eu"}, {"name": "America", "value": "us"}],
            },
        ],
    )
    db.session.add(
        TemplateVault(
            project_id=world["project"].id,
            template_id=template.id,
            name="prod",
            type="password",
            vault_key_id=world["prod"].id,
        )
    )
    db.session.commit()
    page.set_viewport_size(SIZES[size])
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{world['project'].id}/templates/{template.id}/edit")
    expect(page.get_by_test_id("field-survey_vars-2-values-1-value")).to_have_value("us")
    assert overflow(page) is None
    screenshot(f"template-editors-rows-{size}-{scheme}")

    page.get_by_test_id("field-name").fill("")
    page.get_by_test_id("field-survey_vars-1-name").fill("")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("error-survey_vars-1-name")).to_have_text("Name is required")
    expect(page.get_by_test_id("error-name")).to_have_text("Name is required")
    assert overflow(page) is None
    screenshot(f"template-editors-errors-{size}-{scheme}")
    _parts(page, f"template-editors-errors-{size}-{scheme}")
    if size == "phone":
        # The rows stack: a row's fields are one above the other.
        name = page.get_by_test_id("field-survey_vars-0-name").bounding_box()
        title = page.get_by_test_id("field-survey_vars-0-title").bounding_box()
        assert title["y"] > name["y"] + name["height"]


def test_environment_variables_are_checked_as_they_are_typed(app, live_server, page, screenshot):
    world = _seed()
    page.set_viewport_size(SIZES["desktop"])
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{world['project'].id}/environment/new")
    page.get_by_test_id("field-name").fill("prod")
    extra = page.get_by_test_id("field-json")
    extra.fill("- web1\n- web2\n")
    expect(page.get_by_test_id("check-json")).to_have_text("Extra variables must be a JSON object")
    extra.fill("version: '1.2'\nhosts: [web1, web2]\n")
    expect(page.get_by_test_id("check-json")).to_have_text("Valid")
    page.get_by_test_id("field-env").fill("PROXY: {nested: 1}")
    expect(page.get_by_test_id("check-env")).to_have_text(
        "Environment variables: values must be scalar"
    )
    screenshot("environment-variables-checked-desktop")
    page.get_by_test_id("field-env").fill("PROXY: http://proxy:3128")
    expect(page.get_by_test_id("check-env")).to_have_text("Valid")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Environment prod added")
    environment = db.session.scalars(select(Environment).filter_by(name="prod")).one()
    assert json.loads(environment.json) == {"version": "1.2", "hosts": ["web1", "web2"]}
    assert json.loads(environment.env) == {"PROXY": "http://proxy:3128"}
