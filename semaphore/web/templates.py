"""The task template pages: list, add, edit, remove."""

from __future__ import annotations

import json

from flask import Response, url_for
from flask_login import login_required

from semaphore.models import Template
from semaphore.services import environments, inventories, keys, repositories, templates, views
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import TEMPLATE_TYPES, TemplateForm, options
from semaphore.web.htmx import render
from semaphore.web.project_resources import (
    choices,
    delete_and_return,
    edit_form,
    form_page,
    id_or_none,
    json_field,
    number,
    project_scope,
    submit_form,
)

APP_TITLES = {
    "ansible": "Ansible",
    "terraform": "Terraform",
    "tofu": "OpenTofu",
    "terragrunt": "Terragrunt",
    "bash": "Bash",
    "powershell": "PowerShell",
    "python": "Python",
}
TYPE_TITLES = dict(TEMPLATE_TYPES)


@web_blueprint.get("/project/<int:project_id>/templates")
@login_required
def templates_index(project_id: int) -> Response:
    access = project_scope(project_id)
    return render(
        "projects/templates/index.html",
        access=access,
        templates=templates.list_templates(access),
        names=_names(access),
        app_titles=APP_TITLES,
        type_titles=TYPE_TITLES,
    )


@web_blueprint.route("/project/<int:project_id>/templates/new", methods=["GET", "POST"])
@login_required
def templates_new(project_id: int) -> Response:
    access = project_scope(project_id)
    form = TemplateForm()
    done = submit_form(
        form,
        lambda: templates.create_template(access, _data(form)),
        lambda template: f"Template {template.name} added",
        _index_url(project_id),
    )
    return done or _page(access, form, None)


@web_blueprint.route(
    "/project/<int:project_id>/templates/<int:template_id>/edit", methods=["GET", "POST"]
)
@login_required
def templates_edit(project_id: int, template_id: int) -> Response:
    access = project_scope(project_id)
    template = templates.get_template(access, template_id)
    form = edit_form(TemplateForm, _initial(template))
    done = submit_form(
        form,
        lambda: templates.update_template(
            access, template_id, {**_data(form), "task_params": templates.task_params(template)}
        ),
        lambda saved: f"Template {saved.name} saved",
        _index_url(project_id),
    )
    return done or _page(access, form, template)


@web_blueprint.delete("/project/<int:project_id>/templates/<int:template_id>")
@login_required
def templates_delete(project_id: int, template_id: int) -> Response:
    access = project_scope(project_id)
    template = templates.get_template(access, template_id)
    return delete_and_return(
        lambda: templates.delete_template(access, template_id),
        f"Template {template.name} removed",
        _index_url(project_id),
    )


def _index_url(project_id: int) -> str:
    return url_for("web.templates_index", project_id=project_id)


def _names(access: ProjectAccess) -> dict[str, dict[int, str]]:
    """Names of what templates refer to, by id, for the list."""
    return {
        "repository": {r.id: r.name for r in repositories.list_repositories(access)},
        "inventory": {i.id: i.name for i in inventories.list_inventories(access)},
        "environment": {e.id: e.name for e in environments.list_environments(access)},
        "view": {v.id: v.title for v in views.list_views(access)},
    }


def _option(object_id: int | None) -> str:
    return str(object_id) if object_id else ""


def _pretty(value: list) -> str:
    return json.dumps(value, indent=2) if value else ""


def _vault_shape(vault) -> dict:
    """A vault as the API takes it back: its id keeps it, the rest may change."""
    shape = {"id": vault.id, "name": vault.name, "type": vault.type}
    if vault.type == "script":
        shape["script"] = vault.script
    else:
        shape["vault_key_id"] = vault.vault_key_id
    return shape


def _initial(template: Template) -> dict:
    vaults = [_vault_shape(vault) for vault in templates.template_vaults(template)]
    return {
        "name": template.name,
        "description": template.description or "",
        "app": template.app,
        "type": template.type,
        "playbook": template.playbook,
        "repository_id": _option(template.repository_id),
        "inventory_id": _option(template.inventory_id),
        "environment_id": _option(template.environment_id),
        "environment_ids": [str(i) for i in templates.environment_ids(template)[1:]],
        "view_id": _option(template.view_id),
        "git_branch": template.git_branch or "",
        "arguments": template.arguments or "",
        "allow_override_args_in_task": template.allow_override_args_in_task,
        "allow_override_branch_in_task": template.allow_override_branch_in_task,
        "suppress_success_alerts": template.suppress_success_alerts,
        "start_version": template.start_version or "",
        "build_template_id": _option(template.build_template_id),
        "autorun": template.autorun,
        "vaults": _pretty(vaults),
        "survey_vars": _pretty(templates.survey_vars(template)),
        "runner_tag": template.runner_tag or "",
        "max_task_duration_sec": str(template.max_task_duration_sec or ""),
    }


def _data(form: TemplateForm) -> dict:
    """The form as the API's template object; the JSON textareas are parsed here."""
    return {
        "name": form.name.data,
        "description": form.description.data,
        "app": form.app.data,
        "type": form.type.data,
        "playbook": form.playbook.data,
        "repository_id": id_or_none(form.repository_id.data),
        "inventory_id": id_or_none(form.inventory_id.data),
        "environment_ids": _environment_ids(form),
        "view_id": id_or_none(form.view_id.data),
        "git_branch": form.git_branch.data,
        "arguments": form.arguments.data,
        "allow_override_args_in_task": form.allow_override_args_in_task.data,
        "allow_override_branch_in_task": form.allow_override_branch_in_task.data,
        "suppress_success_alerts": form.suppress_success_alerts.data,
        "start_version": form.start_version.data,
        "build_template_id": id_or_none(form.build_template_id.data),
        "autorun": form.autorun.data,
        "vaults": json_field(form.vaults.data, "vaults", []),
        "survey_vars": json_field(form.survey_vars.data, "survey_vars", []),
        "runner_tag": form.runner_tag.data,
        "max_task_duration_sec": number(form.max_task_duration_sec.data),
    }


def _environment_ids(form: TemplateForm) -> list:
    """The chosen environment first, then the ticked ones in the page's order."""
    first = id_or_none(form.environment_id.data)
    more = [id_or_none(value) for value in form.environment_ids.data or []]
    chosen = [first] if first is not None else []
    return chosen + [value for value in more if value is not None and value != first]


def _more_environment_choices(access: ProjectAccess, template: Template | None) -> list:
    """Every environment, the template's own extra ones first in the order they apply."""
    rows = environments.list_environments(access)
    order = templates.environment_ids(template)[1:] if template is not None else []
    rank = {environment_id: i for i, environment_id in enumerate(order)}
    rows.sort(key=lambda e: (rank.get(e.id, len(rank)), e.name.lower()))
    return [(str(e.id), e.name) for e in rows]


def _page(access: ProjectAccess, form: TemplateForm, template: Template | None) -> Response:
    form.app.choices = options([(app, APP_TITLES.get(app, app)) for app in templates.VALID_APPS])
    form.repository_id.choices = choices(
        repositories.list_repositories(access), lambda r: r.name, "Choose a repository…"
    )
    form.inventory_id.choices = choices(
        inventories.list_inventories(access), lambda i: i.name, "None"
    )
    form.environment_id.choices = choices(
        environments.list_environments(access), lambda e: e.name, "None"
    )
    form.environment_ids.choices = options(_more_environment_choices(access, template))
    form.view_id.choices = choices(views.list_views(access), lambda v: v.title, "None")
    builds = [t for t in templates.list_templates(access) if t.type == "build"]
    form.build_template_id.choices = choices(builds, lambda t: t.name, "Choose a build template…")
    return form_page(
        access,
        MANAGE_RESOURCES,
        "projects/templates/form.html",
        form,
        page_title=f"Edit template {template.name}" if template else "New template",
        submit_label="Save" if template else "Add template",
        form_id="template-form",
        cancel_url=_index_url(access.project_id),
        vault_keys=[k for k in keys.list_keys(access) if k.type == "login_password"],
    )
