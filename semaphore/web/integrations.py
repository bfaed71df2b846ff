"""The integrations pages: list, add, edit, remove; an integration's matchers, values, alias URLs
and its recent deliveries (what each request received did, and why)."""

from __future__ import annotations

from flask import Response, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField

from semaphore.models import Integration
from semaphore.services import integrations, keys
from semaphore.services import templates as templates_service
from semaphore.services.integrations import deliveries as integration_deliveries
from semaphore.services.integrations import hooks as integration_hooks
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import choice
from semaphore.web.htmx import redirect_to, render
from semaphore.web.project_resources import (
    choices,
    delete_and_return,
    edit_form,
    form_page,
    has_errors,
    id_or_none,
    project_scope,
    submit_form,
)

AUTH_METHODS = [
    ("", "None"),
    ("github", "GitHub signature (X-Hub-Signature-256)"),
    ("bitbucket", "Bitbucket signature (X-Hub-Signature)"),
    ("token", "Token in a header"),
    ("hmac", "HMAC-SHA256 of the body in a header"),
    ("basic", "Basic auth (the key's login and password)"),
]
AUTH_TITLES = dict(AUTH_METHODS) | {"none": "None"}
BODY_TYPES = [("json", "JSON"), ("string", "Whole body as text")]
SOURCES = [("header", "Header"), ("body", "Body")]


class IntegrationForm(FlaskForm):
    name = StringField("Name")
    template_id = choice("Template", description="The template each accepted request runs.")
    auth_method = choice("Authentication", AUTH_METHODS, default="")
    auth_secret_id = choice(
        "Secret",
        description="A login/password key: its password is the secret (and, for basic auth, "
        "its login the user name).",
    )
    auth_header = StringField(
        "Header", description="For token and HMAC: the header that carries it, e.g. X-Gitlab-Token."
    )
    searchable = BooleanField(
        "Searchable: answer on the project's aliases, when all matchers match"
    )


class MatcherForm(FlaskForm):
    name = StringField("Name")
    match_type = choice("Look at", SOURCES, default="header")
    body_data_type = choice(
        "Body type", BODY_TYPES, default="json", render_kw={"data-show-when": "match_type=body"}
    )
    key = StringField("Header or JSON path", description="e.g. X-GitHub-Event, or ref.")
    method = choice("Test", [(m, m) for m in integrations.MATCH_METHODS], default="equals")
    value = StringField("Value")


class ValueForm(FlaskForm):
    name = StringField("Name")
    value_source = choice("Take from", SOURCES, default="body")
    body_data_type = choice(
        "Body type", BODY_TYPES, default="json", render_kw={"data-show-when": "value_source=body"}
    )
    key = StringField("Header or JSON path", description="e.g. pull_request.head.ref.")
    variable = StringField("Variable")
    variable_type = choice(
        "Into", [("environment", "Task environment"), ("task", "Task parameter")]
    )


# --- the list and the integration's own page -----------------------------------------------------


@web_blueprint.get("/project/<int:project_id>/integrations")
@login_required
def integrations_index(project_id: int) -> Response:
    access = project_scope(project_id)
    return render(
        "projects/integrations/index.html",
        access=access,
        integrations=integrations.list_integrations(access),
        template_names={t.id: t.name for t in templates_service.list_templates(access)},
        aliases=_aliases(access, None),
        deliveries=integration_deliveries.list_deliveries(access, limit=20),
        auth_titles=AUTH_TITLES,
    )


@web_blueprint.get("/project/<int:project_id>/integrations/<int:integration_id>")
@login_required
def integrations_show(project_id: int, integration_id: int) -> Response:
    access = project_scope(project_id)
    return _show(access, integrations.get_integration(access, integration_id))


@web_blueprint.get("/project/<int:project_id>/integrations/<int:integration_id>/deliveries")
@login_required
def integrations_deliveries(project_id: int, integration_id: int) -> Response:
    access = project_scope(project_id)
    integration = integrations.get_integration(access, integration_id)
    return render(
        "projects/integrations/_deliveries.html",
        access=access,
        integration=integration,
        deliveries=integration_deliveries.list_deliveries(access, integration.id),
        refresh_url=_deliveries_url(access.project_id, integration.id),
    )


def _show(
    access: ProjectAccess,
    integration: Integration,
    matcher_form: MatcherForm | None = None,
    value_form: ValueForm | None = None,
) -> Response:
    matcher_form = matcher_form or MatcherForm(formdata=None)
    value_form = value_form or ValueForm(formdata=None)
    failed = has_errors(matcher_form) or has_errors(value_form)
    key = integration.auth_secret_id and keys.get_key(access, integration.auth_secret_id)
    return render(
        "projects/integrations/show.html",
        access=access,
        integration=integration,
        template=templates_service.get_template(access, integration.template_id),
        secret_key=key or None,
        auth_titles=AUTH_TITLES,
        task_params=integrations.task_params(integration),
        aliases=_aliases(access, integration.id),
        matchers=[
            (m, integration_hooks.describe_matcher(m))
            for m in integrations.list_matchers(access, integration.id)
        ],
        values=integrations.list_values(access, integration.id),
        matcher_form=matcher_form,
        value_form=value_form,
        deliveries=integration_deliveries.list_deliveries(access, integration.id),
        refresh_url=_deliveries_url(access.project_id, integration.id),
        status=422 if failed else 200,
    )


def _aliases(access: ProjectAccess, integration_id: int | None) -> list[tuple[int, str, str]]:
    """(id, public URL, delete URL) of the integration's aliases, or of the project's own."""
    rows = integrations.list_aliases(access, integration_id)
    return [
        (
            row.id,
            integrations.alias_url(row.alias),
            url_for(
                "web.integrations_delete_alias",
                project_id=access.project_id,
                alias_id=row.id,
                **({"integration_id": integration_id} if integration_id else {}),
            ),
        )
        for row in rows
    ]


# --- add, edit, remove ---------------------------------------------------------------------------


@web_blueprint.route("/project/<int:project_id>/integrations/new", methods=["GET", "POST"])
@login_required
def integrations_new(project_id: int) -> Response:
    access = project_scope(project_id)
    form = IntegrationForm()
    done = submit_form(
        form,
        lambda: integrations.create_integration(access, _data(form, None)),
        lambda row: f"Integration {row.name} added",
        lambda row: _show_url(project_id, row.id),
    )
    return done or _page(access, form, None)


@web_blueprint.route(
    "/project/<int:project_id>/integrations/<int:integration_id>/edit", methods=["GET", "POST"]
)
@login_required
def integrations_edit(project_id: int, integration_id: int) -> Response:
    access = project_scope(project_id)
    integration = integrations.get_integration(access, integration_id)
    form = edit_form(
        IntegrationForm,
        {
            "name": integration.name,
            "template_id": str(integration.template_id),
            "auth_method": "" if integration.auth_method == "none" else integration.auth_method,
            "auth_secret_id": str(integration.auth_secret_id or ""),
            "auth_header": integration.auth_header,
            "searchable": integration.searchable,
        },
    )
    done = submit_form(
        form,
        lambda: integrations.update_integration(access, integration_id, _data(form, integration)),
        lambda row: f"Integration {row.name} saved",
        _show_url(project_id, integration_id),
    )
    return done or _page(access, form, integration)


@web_blueprint.delete("/project/<int:project_id>/integrations/<int:integration_id>")
@login_required
def integrations_delete(project_id: int, integration_id: int) -> Response:
    access = project_scope(project_id)
    integration = integrations.get_integration(access, integration_id)
    return delete_and_return(
        lambda: integrations.delete_integration(access, integration_id),
        f"Integration {integration.name} removed",
        url_for("web.integrations_index", project_id=project_id),
    )


def _data(form: IntegrationForm, integration: Integration | None) -> dict:
    data = {
        "name": form.name.data,
        "template_id": id_or_none(form.template_id.data),
        "auth_method": form.auth_method.data or "",
        "auth_secret_id": id_or_none(form.auth_secret_id.data),
        "auth_header": form.auth_header.data or "",
        "searchable": form.searchable.data,
    }
    if integration is not None and integration.task_params:
        # Task parameters are set through the API; saving the form keeps them.
        data["task_params"] = integrations.task_params(integration)
    return data


def _page(access: ProjectAccess, form: IntegrationForm, integration: Integration | None):
    form.template_id.choices = choices(
        templates_service.list_templates(access), lambda t: t.name, "Choose a template…"
    )
    login_keys = keys.list_keys(access, key_type="login_password")
    form.auth_secret_id.choices = choices(login_keys, lambda k: k.name, "None")
    cancel = (
        _show_url(access.project_id, integration.id)
        if integration
        else url_for("web.integrations_index", project_id=access.project_id)
    )
    return form_page(
        access,
        MANAGE_RESOURCES,
        "projects/resource_form.html",
        form,
        page_title=f"Edit integration {integration.name}" if integration else "New integration",
        submit_label="Save" if integration else "Add integration",
        form_id="integration-form",
        cancel_url=cancel,
    )


# --- matchers, values, aliases -------------------------------------------------------------------

ONE = "/project/<int:project_id>/integrations/<int:integration_id>"


@web_blueprint.post(ONE + "/matchers")
@login_required
def integrations_add_matcher(project_id: int, integration_id: int) -> Response:
    access = project_scope(project_id)
    integration = integrations.get_integration(access, integration_id)
    form = MatcherForm()
    done = submit_form(
        form,
        lambda: integrations.create_matcher(access, integration_id, _matcher_data(form)),
        lambda row: f"Matcher {row.name} added",
        _show_url(project_id, integration_id),
    )
    return done or _show(access, integration, matcher_form=form)


@web_blueprint.delete(ONE + "/matchers/<int:matcher_id>")
@login_required
def integrations_delete_matcher(project_id: int, integration_id: int, matcher_id: int):
    access = project_scope(project_id)
    return delete_and_return(
        lambda: integrations.delete_matcher(access, integration_id, matcher_id),
        "Matcher removed",
        _show_url(project_id, integration_id),
    )


@web_blueprint.post(ONE + "/values")
@login_required
def integrations_add_value(project_id: int, integration_id: int) -> Response:
    access = project_scope(project_id)
    integration = integrations.get_integration(access, integration_id)
    form = ValueForm()
    done = submit_form(
        form,
        lambda: integrations.create_value(access, integration_id, _value_data(form)),
        lambda row: f"Value {row.name} added",
        _show_url(project_id, integration_id),
    )
    return done or _show(access, integration, value_form=form)


@web_blueprint.delete(ONE + "/values/<int:value_id>")
@login_required
def integrations_delete_value(project_id: int, integration_id: int, value_id: int):
    access = project_scope(project_id)
    return delete_and_return(
        lambda: integrations.delete_value(access, integration_id, value_id),
        "Value removed",
        _show_url(project_id, integration_id),
    )


@web_blueprint.post("/project/<int:project_id>/integrations/aliases")
@web_blueprint.post(ONE + "/aliases")
@login_required
def integrations_add_alias(project_id: int, integration_id: int | None = None) -> Response:
    access = project_scope(project_id)
    # A bare button: the CSRF check is the app's, and there are no fields to validate.
    integrations.create_alias(access, integration_id)
    return redirect_to(_back(project_id, integration_id))


@web_blueprint.delete("/project/<int:project_id>/integrations/aliases/<int:alias_id>")
@web_blueprint.delete(ONE + "/aliases/<int:alias_id>")
@login_required
def integrations_delete_alias(project_id: int, alias_id: int, integration_id: int | None = None):
    access = project_scope(project_id)
    return delete_and_return(
        lambda: integrations.delete_alias(access, alias_id, integration_id),
        "Alias removed: its URL no longer answers",
        _back(project_id, integration_id),
    )


def _matcher_data(form: MatcherForm) -> dict:
    body = form.match_type.data == "body"
    return {
        "name": form.name.data,
        "match_type": form.match_type.data,
        "body_data_type": form.body_data_type.data if body else None,
        "method": form.method.data,
        "key": form.key.data,
        "value": form.value.data,
    }


def _value_data(form: ValueForm) -> dict:
    body = form.value_source.data == "body"
    return {
        "name": form.name.data,
        "value_source": form.value_source.data,
        "body_data_type": form.body_data_type.data if body else None,
        "key": form.key.data,
        "variable": form.variable.data,
        "variable_type": form.variable_type.data,
    }


def _show_url(project_id: int, integration_id: int) -> str:
    return url_for("web.integrations_show", project_id=project_id, integration_id=integration_id)


def _deliveries_url(project_id: int, integration_id: int) -> str:
    return url_for(
        "web.integrations_deliveries", project_id=project_id, integration_id=integration_id
    )


def _back(project_id: int, integration_id: int | None) -> str:
    if integration_id is None:
        return url_for("web.integrations_index", project_id=project_id)
    return _show_url(project_id, integration_id)
