"""The task template pages: add, edit, remove.

Survey variables, vaults and arguments are edited as rows (web/row_editors.py); the form turns
them into the API's shapes and the service checks them, reporting every problem at its row.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, url_for
from flask_login import login_required

from semaphore.models import Template
from semaphore.services import environments, inventories, keys, repositories, templates, views
from semaphore.services.permissions import MANAGE_RESOURCES, ProjectAccess
from semaphore.web.blueprint import web_blueprint
from semaphore.web.forms import (
    TEMPLATE_TYPES,
    SurveyValueRow,
    SurveyVarRow,
    TemplateForm,
    VaultRow,
    options,
)
from semaphore.web.project_resources import (
    choices,
    delete_and_return,
    edit_form,
    form_page,
    id_or_none,
    number,
    project_scope,
    submit_form,
)
from semaphore.web.row_editors import apply_row_action

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


@web_blueprint.route("/project/<int:project_id>/templates/new", methods=["GET", "POST"])
@login_required
def templates_new(project_id: int) -> Response:
    access = project_scope(project_id)
    form = TemplateForm()
    if apply_row_action(form):
        return _page(access, form, None)
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
    if apply_row_action(form):
        return _page(access, form, template)
    done = submit_form(
        form,
        lambda: templates.update_template(access, template_id, _data(form, template)),
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


def _option(object_id: int | None) -> str:
    return str(object_id) if object_id else ""


def _vault_row(vault) -> dict:
    """A stored vault as a row of the editor: its id (sent back) keeps it."""
    return {
        "id": str(vault.id),
        "name": vault.name or "",
        "type": vault.type or "password",
        "vault_key_id": _option(vault.vault_key_id),
        "script": vault.script or "",
    }


def _default_text(value: Any) -> str:
    """A survey variable's stored default as the editor's text field shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


def _survey_row(var: dict) -> dict:
    """A stored survey variable as a row of the editor."""
    values = var.get("values") or []
    return {
        "name": var.get("name", ""),
        "title": var.get("title", ""),
        "type": var.get("type") or "",
        "required": bool(var.get("required")),
        "default_value": _default_text(var.get("default_value")),
        "description": var.get("description", ""),
        "values": [{"name": v.get("name", ""), "value": v.get("value", "")} for v in values],
    }


def _argument_rows(arguments: str | None) -> list[str]:
    """The stored JSON array of arguments as one row each (stored text is checked JSON)."""
    try:
        parsed = json.loads(arguments or "[]")
    except ValueError:
        return [arguments or ""]
    return [str(item) for item in parsed] if isinstance(parsed, list) else [str(parsed)]


def _initial(template: Template) -> dict:
    params = templates.task_params(template) or {}
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
        "arguments": _argument_rows(template.arguments),
        "allow_override_args_in_task": template.allow_override_args_in_task,
        "allow_override_branch_in_task": template.allow_override_branch_in_task,
        "suppress_success_alerts": template.suppress_success_alerts,
        "start_version": template.start_version or "",
        "build_template_id": _option(template.build_template_id),
        "autorun": template.autorun,
        "vaults": [_vault_row(vault) for vault in templates.template_vaults(template)],
        "survey_vars": [_survey_row(var) for var in templates.survey_vars(template)],
        "runner_tag": template.runner_tag or "",
        "max_task_duration_sec": str(template.max_task_duration_sec or ""),
        **{switch: params.get(switch) is True for switch in templates.RUN_OPTIONS.values()},
    }


def _data(form: TemplateForm, template: Template | None = None) -> dict:
    """The form as the API's template object; the editors' rows become its lists."""
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
        "arguments": _arguments(form),
        "allow_override_args_in_task": form.allow_override_args_in_task.data,
        "allow_override_branch_in_task": form.allow_override_branch_in_task.data,
        "suppress_success_alerts": form.suppress_success_alerts.data,
        "start_version": form.start_version.data,
        "build_template_id": id_or_none(form.build_template_id.data),
        "autorun": form.autorun.data,
        "vaults": [_vault(row.form) for row in form.vaults],
        "survey_vars": [_survey_var(row.form) for row in form.survey_vars],
        "runner_tag": form.runner_tag.data,
        "max_task_duration_sec": number(form.max_task_duration_sec.data),
        "task_params": _task_params(form, template),
    }


def _task_params(form: TemplateForm, template: Template | None) -> dict | None:
    """The template's task params (kept as stored) with the run dialog's switches as ticked."""
    params = dict(templates.task_params(template) or {}) if template is not None else {}
    for switch in templates.RUN_OPTIONS.values():
        if form[switch].data:
            params[switch] = True
        else:
            params.pop(switch, None)
    return params or None


def _arguments(form: TemplateForm) -> str | None:
    """The arguments' rows as the API's JSON array text (empty rows left out)."""
    listed = [value for value in form.arguments.data if (value or "").strip()]
    return json.dumps(listed) if listed else None


def _vault(row: VaultRow) -> dict:
    """A vault row as the API's vault; the service ignores what its type does not use."""
    return {
        "id": id_or_none(row.id.data),
        "name": row.name.data,
        "type": row.type.data or "password",
        "vault_key_id": id_or_none(row.vault_key_id.data),
        "script": row.script.data,
    }


CHOICE_TYPES = ("enum", "select")
_INTEGER = re.compile(r"-?\d+")


def _typed_default(kind: str, text: str) -> Any:
    """The default typed in the row, in the JSON type the API stores for the variable's type:
    a number for int, true/false for boolean, a list for select. Text that is not of the
    type goes as it is, for the service to refuse."""
    text = text.strip() if kind in ("int", "boolean", "select") else text
    if kind == "int" and _INTEGER.fullmatch(text):
        return int(text)
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if kind == "select" and text:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _survey_var(row: SurveyVarRow) -> dict:
    """A survey row as the API's survey variable (values only for enum and select, blank
    value rows left out)."""
    kind = row.type.data or ""
    values = [
        {"name": value.form.name.data, "value": value.form.value.data}
        for value in row.values
        if value.form.name.data or value.form.value.data
    ]
    var = {
        "name": row.name.data,
        "title": row.title.data,
        "type": kind,
        "required": row.required.data,
        "description": row.description.data,
        "values": values if kind in CHOICE_TYPES else [],
    }
    default = _typed_default(kind, row.default_value.data or "")
    if default not in ("", []):
        var["default_value"] = default
    return var


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
    vault_keys = [k for k in keys.list_keys(access) if k.type == "login_password"]
    key_choices = choices(vault_keys, lambda k: k.name, "Choose a key…")
    # Rows added in the page are copies of these (static/js/editors.js).
    prototypes = {
        "survey_vars": SurveyVarRow(prefix=PROTOTYPE + "-"),
        "values": SurveyValueRow(prefix=PROTOTYPE + "-"),
        "vaults": VaultRow(prefix=PROTOTYPE + "-"),
    }
    for row in [*(entry.form for entry in form.vaults), prototypes["vaults"]]:
        row.vault_key_id.choices = key_choices
    return form_page(
        access,
        MANAGE_RESOURCES,
        "projects/templates/form.html",
        form,
        page_title=f"Edit template {template.name}" if template else "New template",
        submit_label="Save" if template else "Add template",
        form_id="template-form",
        cancel_url=_index_url(access.project_id),
        vault_keys=vault_keys,
        prototypes=prototypes,
        prototype=PROTOTYPE,
    )


# The name prefix of a prototype row: editors.js puts the list's name and the row's index.
PROTOTYPE = "__list__-__index__"
