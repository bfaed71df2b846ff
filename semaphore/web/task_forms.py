"""The run dialog's form: built per template from its survey variables and allowed overrides.

The form checks only what a user can fix on the spot, the survey answers, by the task service's
own rule (schemas.survey) so that every refused answer shows at its field at once; every other
rule is the task service's.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    PasswordField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import StopValidation
from wtforms.widgets import CheckboxInput, ListWidget, PasswordInput

from semaphore.models import Task, Template
from semaphore.schemas.survey import BadAnswer, default_answer, survey_answer
from semaphore.services import templates
from semaphore.services.validation import parse_json_text
from semaphore.web.forms import choice, options

ANSIBLE_APPS = ("ansible",)
TERRAFORM_APPS = ("terraform", "tofu", "terragrunt")
ANSIBLE_FLAGS = ("debug", "dry_run", "diff")
TERRAFORM_FLAGS = ("plan", "destroy", "auto_approve", "upgrade")
# Ansible's lists of the 2.16 task params, typed as one line: "web, db" is ["web", "db"].
LIST_FIELDS = {
    "limit": ("Limit", "Hosts or groups, separated by commas (--limit)."),
    "tags": ("Tags", "Only tasks with these tags, separated by commas (--tags)."),
    "skip_tags": ("Skip tags", "Tasks with these tags are skipped (--skip-tags)."),
}
SURVEY_PREFIX = "survey_"


class RunForm(FlaskForm):
    """The fields every template has; `run_form_class` adds the rest."""

    message = StringField("Message", description="Shown in the task list (optional).")
    # This dialog's id: sent twice (a double click), it runs once (services.tasks.submissions).
    submission = HiddenField()


def _flag_fields(app: str) -> dict[str, Field]:
    if app in ANSIBLE_APPS:
        return {
            "debug": BooleanField("Debug", description="Runs ansible-playbook with -vvvv."),
            "dry_run": BooleanField("Dry run", description="--check: report, change nothing."),
            "diff": BooleanField("Diff", description="--diff: show what changes in files."),
        }
    if app in TERRAFORM_APPS:
        return {
            "plan": BooleanField("Plan only", description="Stop after the plan."),
            "destroy": BooleanField("Destroy", description="Plan and apply a destroy."),
            "auto_approve": BooleanField(
                "Auto approve", description="Apply without waiting for confirmation."
            ),
            "upgrade": BooleanField("Upgrade", description="init -upgrade: newer providers."),
        }
    return {}


class SurveyAnswer:
    """The one rule for a survey answer, worded with the variable's title."""

    def __init__(self, var: dict[str, Any], title: str) -> None:
        self.var, self.title = var, title

    def __call__(self, form: RunForm, field: Field) -> None:
        try:
            survey_answer(self.var, field.data)
        except BadAnswer as exc:
            raise StopValidation(f"{self.title} {exc}") from None


def _check_list(field: Field, **attributes: Any) -> str:
    # A select's values as a list of checkboxes (render_kw would reach each checkbox too).
    return ListWidget(prefix_label=False)(field, **{"class": "check-list", **attributes})


def survey_field(var: dict[str, Any]) -> Field:
    """The input of one survey variable, checked by the one rule."""
    title = var.get("title") or var["name"]
    kind = var.get("type") or ""
    label = f"{title} *" if var.get("required") else title
    common = {
        "description": var.get("description") or "",
        "validators": [SurveyAnswer(var, title)],
    }
    pairs = [(value["value"], value["name"] or value["value"]) for value in var.get("values") or []]
    if kind == "int":
        return StringField(label, render_kw={"inputmode": "numeric"}, **common)
    if kind == "enum":
        return choice(label, [("", "Choose…"), *pairs], **common)
    if kind == "select":
        return SelectMultipleField(
            label,
            choices=options(pairs),
            validate_choice=False,
            widget=_check_list,
            option_widget=CheckboxInput(),
            **common,
        )
    if kind == "boolean":
        return BooleanField(label, **common)
    if kind == "text":
        return TextAreaField(label, render_kw={"rows": 3}, **common)
    if kind == "secret":
        # Typed again after a refused submit would be a chore and a source of typos; the value
        # goes back only in the answer to the user's own POST (the dialog starts empty).
        return PasswordField(
            label,
            widget=PasswordInput(hide_value=False),
            render_kw={"autocomplete": "off"},
            **common,
        )
    return StringField(label, **common)


def run_form_class(template: Template, earlier: Task | None = None) -> type[RunForm]:
    """A RunForm with the template's survey variables, the overrides it allows and its app's
    switches; a re-run of a task that ran a known commit can pin that commit."""
    fields: dict[str, Field] = {}
    for index, var in enumerate(templates.survey_vars(template)):
        fields[f"{SURVEY_PREFIX}{index}"] = survey_field(var)
    if template.type == "deploy":
        fields["build_task_id"] = choice(
            "Build version", description="The build whose version this deploy installs."
        )
    allowed = templates.run_options(template)
    if "inventory" in allowed and template.app in ANSIBLE_APPS + TERRAFORM_APPS:
        label = "Workspace" if template.app in TERRAFORM_APPS else "Inventory"
        fields["inventory_id"] = choice(label, description="Instead of the template's.")
    for name, (label, description) in LIST_FIELDS.items():
        if name in allowed and template.app in ANSIBLE_APPS:
            fields[name] = StringField(label, description=description)
    if earlier is not None and earlier.commit_hash:
        fields["pin_commit"] = BooleanField(
            f"Run commit {earlier.commit_hash[:8]} again",
            description="Unticked, the run takes the branch's latest commit.",
        )
    if template.allow_override_branch_in_task:
        fields["git_branch"] = StringField(
            "Branch", description=f"Instead of {template.git_branch or 'the repository branch'}."
        )
    if template.allow_override_args_in_task:
        fields["arguments"] = TextAreaField(
            "Arguments (JSON)",
            description='A JSON array of strings, added to the command line, e.g. ["-e", "x=1"].',
            render_kw={"rows": 2, "class": "mono"},
        )
    fields.update(_flag_fields(template.app))
    return type("TemplateRunForm", (RunForm,), fields)


def survey_fields(form: RunForm) -> list[Field]:
    """The survey inputs, in the template's order."""
    return [field for field in form if field.name.startswith(SURVEY_PREFIX)]


def flag_fields(form: RunForm) -> list[Field]:
    return [field for field in form if field.name in ANSIBLE_FLAGS + TERRAFORM_FLAGS]


def list_fields(form: RunForm) -> list[Field]:
    """Limit, tags and skip tags, those the template allows."""
    return [field for field in form if field.name in LIST_FIELDS]


def _words(text: str | None) -> list[str]:
    """A list field's line as the list the API takes: split at commas (and spaces)."""
    return [word for word in (text or "").replace(",", " ").split() if word]


# Initial values and the task data ------------------------------------------------------------


def _json_object(text: str | None) -> dict:
    value = parse_json_text(text or "{}", default={})
    return value if isinstance(value, dict) else {}


def initial_values(template: Template, task: Task | None = None) -> dict[str, Any]:
    """What the dialog opens with: the template's default task parameters, or the values of
    an earlier task being run again (its secret values are not kept, so they stay empty); a
    survey variable given no value there opens with its default; and a new submission id."""
    if task is not None:
        # Not its message: the old run's outcome ("exit status 2") may be in it.
        source = {
            "git_branch": task.git_branch,
            "arguments": task.arguments,
            "environment": task.environment,
            "params": {
                **(task.params if isinstance(task.params, dict) else {}),
                **{flag: getattr(task, flag) for flag in ANSIBLE_FLAGS},
            },
        }
    else:
        source = templates.task_params(template) or {}
    params = source.get("params") if isinstance(source.get("params"), dict) else {}
    environment = _json_object(source.get("environment"))
    values: dict[str, Any] = {
        name: source.get(name) or "" for name in ("message", "git_branch", "arguments")
    }
    values["submission"] = uuid.uuid4().hex
    values.update({flag: bool(params.get(flag)) for flag in ANSIBLE_FLAGS + TERRAFORM_FLAGS})
    values.update(_initial_lists(template, task, params))
    if task is not None:
        values["inventory_id"] = str(task.inventory_id or "")
        values["build_task_id"] = str(task.build_task_id or "")
    for index, var in enumerate(templates.survey_vars(template)):
        value = _initial_answer(var, environment.get(var["name"]))
        if var.get("type") != "secret" and value is not None:
            values[f"{SURVEY_PREFIX}{index}"] = value
    return values


def _initial_lists(template: Template, task: Task | None, params: dict) -> dict[str, str]:
    """Limit, tags and skip tags as the dialog's lines: the earlier task's (its `limit`
    field counts for the limit too), else the template's defaults (the original's template
    task params keep them at the top level)."""
    defaults = templates.task_params(template) or {}
    values = {}
    for name in LIST_FIELDS:
        given = params.get(name) if task is not None else defaults.get(name)
        if name == "limit" and task is not None and not given and task.limit:
            given = _words(task.limit)
        values[name] = ", ".join(str(item) for item in given) if isinstance(given, list) else ""
    return values


def _initial_answer(var: dict[str, Any], given: Any) -> Any:
    """A survey input's first value: the one given, else the default (None: neither is one
    the rule accepts); a boolean's and a select's in their own shape, others as text."""
    try:
        value = default_answer(var) if given is None else survey_answer(var, given)
    except BadAnswer:
        return None
    if value is None or var.get("type") in ("boolean", "select"):
        return value
    return str(value)


def _survey_values(form: RunForm, template: Template) -> tuple[dict, dict]:
    """Plain values (the task's environment) and secret ones (its secret), by variable name."""
    environment: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for index, var in enumerate(templates.survey_vars(template)):
        # As typed: the task service gives each answer its type (an int's "3" becomes 3). A
        # boolean and a select always have an answer (false, no value chosen).
        value = form[f"{SURVEY_PREFIX}{index}"].data
        if value is None or value == "":
            continue
        (secret if var.get("type") == "secret" else environment)[var["name"]] = value
    return environment, secret


def task_data(form: RunForm, template: Template) -> dict[str, Any]:
    """The form as the API's POST /project/{id}/tasks body."""
    environment, secret = _survey_values(form, template)
    data: dict[str, Any] = {"template_id": template.id, "message": form.message.data or ""}
    if environment:
        data["environment"] = json.dumps(environment)
    if secret:
        data["secret"] = json.dumps(secret)
    for name in ("git_branch", "arguments"):
        if name in form:
            data[name] = form[name].data or ""
    for flag in ANSIBLE_FLAGS:
        if flag in form:
            data[flag] = form[flag].data
    params: dict[str, Any] = {flag: form[flag].data for flag in TERRAFORM_FLAGS if flag in form}
    params.update({field.name: _words(field.data) for field in list_fields(form)})
    if params:
        data["params"] = params
    for name in ("inventory_id", "build_task_id"):
        if name in form and (form[name].data or "").strip():
            value = form[name].data.strip()
            data[name] = int(value) if value.isdigit() else value
    return data


def run_data(form: RunForm, template: Template, earlier: Task | None) -> dict[str, Any]:
    """The dialog as the API's POST body; for a re-run (`earlier`), with what the dialog has
    no field for kept from the earlier task: its extra variables beyond the survey's, its
    playbook, and its limit and inventory unless the template lets the dialog set them; its
    commit when the user pins it."""
    data = task_data(form, template)
    if earlier is None:
        return data
    asked = {var["name"] for var in templates.survey_vars(template)}
    kept = {k: v for k, v in _json_object(earlier.environment).items() if k not in asked}
    environment = {**kept, **_json_object(data.get("environment"))}
    if environment:
        data["environment"] = json.dumps(environment)
    if "pin_commit" in form and form.pin_commit.data:
        data["commit_hash"] = earlier.commit_hash
    earlier_params = earlier.params if isinstance(earlier.params, dict) else {}
    kept_lists = {
        name: earlier_params[name]
        for name in LIST_FIELDS
        if name not in form and isinstance(earlier_params.get(name), list)
    }
    if kept_lists:
        data["params"] = {**data.get("params", {}), **kept_lists}
    # What the dialog has no field for is kept from the earlier task.
    carried = {"playbook": earlier.playbook}
    if "inventory_id" not in form:
        carried["inventory_id"] = earlier.inventory_id
    if "limit" not in form:
        carried["limit"] = earlier.limit
    data.update({name: value for name, value in carried.items() if value not in (None, "")})
    return data
