"""The key store pages: list, add, edit (rename, or replace the secret), remove."""

from __future__ import annotations

from flask import Response, url_for
from flask_login import login_required

from semaphore.models import AccessKey
from semaphore.services import keys
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.services.references import users_of
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import KEY_TYPES, KeyForm
from semaphore.web.htmx import render
from semaphore.web.project_resources import (
    REFERRER_PAGES,
    delete_and_return,
    edit_form,
    form_page,
    project_scope,
    submit_form,
)

TYPE_TITLES = dict(KEY_TYPES)
# Users of a key whose page only managers may open; other members get the list they are in.
LIST_PAGES = {"repository": "web.repositories_index", "inventory": "web.inventories_index"}


@web_blueprint.get("/project/<int:project_id>/keys")
@login_required
def keys_index(project_id: int) -> Response:
    access = project_scope(project_id)
    rows = keys.list_keys(access)
    return render(
        "projects/keys/index.html",
        access=access,
        keys=rows,
        in_use=_in_use(access, rows),
        type_titles=TYPE_TITLES,
        is_empty=keys.is_empty,
    )


@web_blueprint.route("/project/<int:project_id>/keys/new", methods=["GET", "POST"])
@login_required
def keys_new(project_id: int) -> Response:
    access = project_scope(project_id)
    form = KeyForm()
    del form.override_secret
    done = submit_form(
        form,
        lambda: keys.create_key(access, _data(form)),
        lambda key: f"Key {key.name} added",
        url_for("web.keys_index", project_id=project_id),
    )
    return done or _page(access, form, None)


@web_blueprint.route("/project/<int:project_id>/keys/<int:key_id>/edit", methods=["GET", "POST"])
@login_required
def keys_edit(project_id: int, key_id: int) -> Response:
    access = project_scope(project_id)
    key = keys.get_key(access, key_id)
    form = edit_form(KeyForm, {"name": key.name, "type": key.type})
    done = submit_form(
        form,
        lambda: keys.update_key(access, key_id, _data(form)),
        lambda saved: f"Key {saved.name} saved",
        url_for("web.keys_index", project_id=project_id),
    )
    return done or _page(access, form, key)


@web_blueprint.delete("/project/<int:project_id>/keys/<int:key_id>")
@login_required
def keys_delete(project_id: int, key_id: int) -> Response:
    access = project_scope(project_id)
    key = keys.get_key(access, key_id)
    return delete_and_return(
        lambda: keys.delete_key(access, key_id),
        f"Key {key.name} removed",
        url_for("web.keys_index", project_id=project_id),
    )


def _in_use(access: ProjectAccess, rows: list[AccessKey]) -> dict[int, list[dict[str, str]]]:
    """What uses each key, as links: the page that edits or shows each user (its list, for a
    member who may not edit it). One query per kind of user for the whole page."""
    found = keys.keys_in_use(key.id for key in rows)
    links: dict[int, list[dict[str, str]]] = {}
    for key_id, refs in found.items():
        links[key_id] = [
            {"kind": item["kind"], "name": item["name"], "url": _user_url(access, item)}
            for item in users_of(refs)
        ]
    return links


def _user_url(access: ProjectAccess, item: dict) -> str:
    endpoint, argument = REFERRER_PAGES[item["kind"]]
    if item["kind"] in LIST_PAGES and not access.can_manage_resources:
        return url_for(LIST_PAGES[item["kind"]], project_id=access.project_id)
    return url_for(endpoint, project_id=access.project_id, **{argument: item["id"]})


def _data(form: KeyForm) -> dict:
    data = {
        "name": form.name.data,
        "type": form.type.data,
        "ssh": {
            "login": form.ssh_login.data,
            "private_key": form.ssh_private_key.data,
            "passphrase": form.ssh_passphrase.data,
        },
        "login_password": {
            "login": form.login_password_login.data,
            "password": form.login_password_password.data,
        },
    }
    if "override_secret" in form:
        data["override_secret"] = form.override_secret.data
    return data


def _page(access, form: KeyForm, key) -> Response:
    return form_page(
        access,
        MANAGE_RESOURCES,
        "projects/resource_form.html",
        form,
        page_title=f"Edit key {key.name}" if key else "New key",
        submit_label="Save" if key else "Add key",
        form_id="key-form",
        cancel_url=url_for("web.keys_index", project_id=access.project_id),
    )
