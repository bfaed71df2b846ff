"""A service's message about a field is shown at that field in the form's words: its label, not
the API's field name. The key dropdowns say "None" once."""

from __future__ import annotations

import re

from semaphore.extensions import db
from semaphore.models import IntegrationAlias
from tests import factories
from tests.web.helpers import csrf_token


def error(html: str, field: str) -> str:
    match = re.search(rf'data-testid="error-{field}">([^<]*)<', html)
    assert match, f"no error at {field}"
    return match.group(1)


def test_messages_name_the_fields_label(web, app, owner, project):
    factories.repository(project=project, name="site")
    web.log_in(owner)
    refused = web.submit(
        f"/project/{project.id}/templates/new",
        {"name": "Deploy", "app": "ansible", "playbook": "site.yml", "inventory_id": ""},
    )
    assert refused.status_code == 422
    assert error(refused.get_data(as_text=True), "inventory_id") == "Inventory is required"

    key = web.submit(
        f"/project/{project.id}/keys/new",
        {"name": "k", "type": "ssh", "ssh_private_key": "not a key"},
    )
    assert key.status_code == 422
    assert error(key.get_data(as_text=True), "ssh_private_key") == (
        "Private key is not a valid private key"
    )


def test_a_message_about_a_row_is_shown_at_the_rows_field(web, app, owner, project):
    web.log_in(owner)
    refused = web.submit(
        f"/project/{project.id}/templates/new",
        {"name": "T", "app": "bash", "playbook": "a.sh", "vaults-0-vault_key_id": "x"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert error(html, "vaults-0-vault_key_id") == "Password key must be an integer"


def test_the_inventory_key_choices_say_none_once(web, app, owner, project):
    factories.key(project=project, name="None", type="none")
    web.log_in(owner)
    html = web.get(f"/project/{project.id}/inventory/new").get_data(as_text=True)
    select = html.split('name="ssh_key_id"', 1)[1].split("</select>", 1)[0]
    assert select.count(">None<") == 1 and ">No key<" in select


def test_webhook_urls_and_a_new_token_have_copy_buttons(web, app, owner, project):
    alias = IntegrationAlias(alias="abc123", project_id=project.id, integration_id=None)
    db.session.add(alias)
    db.session.commit()
    web.log_in(owner)
    html = web.get(f"/project/{project.id}/integrations").get_data(as_text=True)
    assert f'id="alias-url-{alias.id}"' in html
    assert f'data-copy="alias-url-{alias.id}"' in html

    token = csrf_token(web.get("/account").get_data(as_text=True))
    made = web.post("/account/tokens", data={"csrf_token": token, "name": "CI"})
    page = made.get_data(as_text=True)
    assert 'id="new-token"' in page and 'data-copy="new-token"' in page
