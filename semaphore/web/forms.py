"""Flask-WTF forms: they parse fields and carry the CSRF token; services hold the rules.

Fields are plain strings and booleans: choices are not checked here (`validate_choice=False`)
and numbers are not parsed here, so that every rule and every message comes from the service.
"""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.form import BaseForm
from wtforms.widgets import CheckboxInput

from semaphore.errors import SemaphoreError

ROLE_CHOICES = [
    ("owner", "Owner"),
    ("manager", "Manager"),
    ("task_runner", "Task runner"),
    ("guest", "Guest"),
]


class LoginForm(FlaskForm):
    auth = StringField("Username or e-mail")
    password = PasswordField("Password")


class UserForm(FlaskForm):
    name = StringField("Name")
    username = StringField("Username")
    email = EmailField("E-mail")
    password = PasswordField("Password")
    admin = BooleanField("Administrator")
    alert = BooleanField("Receives failure alerts")


def options(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def choice(label: str, pairs: list[tuple[str, str]] | None = None, **kwargs) -> SelectField:
    """A select whose value the service checks (the form accepts anything)."""
    return SelectField(label, choices=options(pairs or []), validate_choice=False, **kwargs)


class SecretTextAreaField(TextAreaField):
    """A textarea that never sends its value back to the browser (private keys)."""

    def _value(self) -> str:
        return ""


# Projects ----------------------------------------------------------------------------------


class ProjectForm(FlaskForm):
    name = StringField("Name")


class ProjectSettingsForm(FlaskForm):
    name = StringField("Name")
    alert = BooleanField("Send failure alerts for this project")
    alert_chat = StringField(
        "Alert chat", description="A Telegram chat ID that replaces the global one (optional)."
    )
    max_parallel_tasks = StringField(
        "Max parallel tasks", description="0 runs any number of tasks at once."
    )
    task_retention_days = StringField(
        "Keep finished tasks (days)",
        description="Finished tasks that ended longer ago are deleted with their output; "
        "0 keeps them, empty uses the server's task_retention_days.",
    )


class RestoreForm(FlaskForm):
    file = FileField(
        "Backup file",
        description="A backup downloaded from this page (JSON).",
        render_kw={"accept": ".json,application/json"},
    )


class MemberForm(FlaskForm):
    user_id = choice("User")
    role = choice("Role", ROLE_CHOICES, default="guest")


class MemberRoleForm(FlaskForm):
    role = choice("Role", ROLE_CHOICES)


# Project resources -------------------------------------------------------------------------

KEY_TYPES = [("none", "None"), ("ssh", "SSH key"), ("login_password", "Login with password")]


class KeyForm(FlaskForm):
    name = StringField("Name")
    override_secret = BooleanField("Replace the type and secret")
    type = choice("Type", KEY_TYPES, render_kw={"data-show-when": "override_secret"})
    ssh_login = StringField(
        "Login (optional)", render_kw={"data-show-when": "override_secret type=ssh"}
    )
    ssh_private_key = SecretTextAreaField(
        "Private key",
        description="Stored encrypted and never shown again.",
        render_kw={"data-show-when": "override_secret type=ssh", "rows": 6, "class": "mono"},
    )
    ssh_passphrase = PasswordField(
        "Passphrase (optional)", render_kw={"data-show-when": "override_secret type=ssh"}
    )
    login_password_login = StringField(
        "Login (optional)", render_kw={"data-show-when": "override_secret type=login_password"}
    )
    login_password_password = PasswordField(
        "Password", render_kw={"data-show-when": "override_secret type=login_password"}
    )


class RepositoryForm(FlaskForm):
    name = StringField("Name")
    git_url = StringField(
        "URL or path",
        description="https://…, ssh://…, git@host:path, file://… or a local /path (used in place).",
    )
    git_branch = StringField("Branch", description="Not needed for a local /path.")
    ssh_key_id = choice("Access key", description="Use the key “None” for public repositories.")


INVENTORY_TYPES = [
    ("static", "Static (INI)"),
    ("static-yaml", "Static (YAML)"),
    ("file", "File in the repository"),
    ("terraform-workspace", "Terraform workspace"),
]


class InventoryForm(FlaskForm):
    name = StringField("Name")
    type = choice("Type", INVENTORY_TYPES, default="static")
    inventory = TextAreaField(
        "Inventory",
        description="The hosts (static), a relative path (file) or a workspace name.",
        render_kw={"rows": 8, "class": "mono"},
    )
    repository_id = choice(
        "Repository",
        description="For a file inventory kept in another repository (optional).",
        render_kw={"data-show-when": "type=file"},
    )
    ssh_key_id = choice("User credentials", description="The key Ansible logs in with.")
    become_key_id = choice("Sudo credentials", description="The key for become (optional).")


class SecretRowForm(Form):
    """One new secret of an environment; its value goes in and is never shown again."""

    type = choice("Kind", [("var", "Extra variable"), ("env", "Env variable")])
    name = StringField("Name")
    secret = PasswordField("Value")


class EnvironmentForm(FlaskForm):
    name = StringField("Name")
    json = TextAreaField(
        "Extra variables (JSON or YAML)",
        description='An object, as JSON ({"version": "1.2"}) or YAML (version: "1.2"); '
        "YAML is stored as JSON.",
        render_kw={"rows": 6, "class": "mono", "spellcheck": "false"},
    )
    env = TextAreaField(
        "Environment variables (JSON or YAML)",
        description='An object of strings, as JSON ({"HTTP_PROXY": "…"}) or YAML '
        "(HTTP_PROXY: …) (optional).",
        render_kw={"rows": 4, "class": "mono", "spellcheck": "false"},
    )
    remove_secrets = SelectMultipleField(
        "Remove", choices=[], validate_choice=False, coerce=str, option_widget=CheckboxInput()
    )
    secrets = FieldList(FormField(SecretRowForm), min_entries=1)


TEMPLATE_TYPES = [("", "Task"), ("build", "Build"), ("deploy", "Deploy")]
# The survey variable types of schemas.survey, in the words of the form.
SURVEY_TYPES = [
    ("", "Line of text"),
    ("text", "Text (several lines)"),
    ("int", "Integer"),
    ("boolean", "Yes / no"),
    ("secret", "Secret"),
    ("enum", "Choice (enum)"),
    ("select", "Choices (select)"),
]
VAULT_TYPES = [("password", "Password"), ("script", "Client script")]


class SurveyValueRow(Form):
    """One choice of an enum or select survey variable."""

    name = StringField("Shown as")
    value = StringField("Value")


class SurveyVarRow(Form):
    """One survey variable: a row of the template form's survey editor."""

    name = StringField("Name")
    title = StringField("Title")
    type = choice("Type", SURVEY_TYPES)
    required = BooleanField("Required")
    default_value = StringField("Default value")
    description = StringField("Description")
    values = FieldList(FormField(SurveyValueRow), "Values")


class VaultRow(Form):
    """One vault password: a row of the template form's vault editor. `id` keeps the row."""

    id = HiddenField()
    name = StringField("Vault ID", description="Empty for the default vault.")
    type = choice("Type", VAULT_TYPES)
    vault_key_id = choice("Password key")
    script = StringField("Script path")


class TemplateForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description", render_kw={"rows": 2})
    app = choice("App")
    type = choice("Type", TEMPLATE_TYPES, default="")
    playbook = StringField(
        "Playbook / script",
        description="The playbook path (ansible), the script (bash, python…) or a sub-directory "
        "(terraform).",
    )
    repository_id = choice("Repository")
    inventory_id = choice("Inventory", description="Required for ansible.")
    environment_id = choice("Environment")
    environment_ids = SelectMultipleField(
        "More environments",
        description="Applied after the first one, in this order; on a clash the later one wins.",
        choices=[],
        validate_choice=False,
        coerce=str,
        option_widget=CheckboxInput(),
    )
    view_id = choice("View")
    git_branch = StringField("Branch override", description="Instead of the repository's branch.")
    arguments = FieldList(
        StringField("Argument"),
        "Arguments",
        description="Passed to the playbook or script in this order, e.g. --tags then web.",
    )
    allow_override_args_in_task = BooleanField("Allow arguments to be set when a task starts")
    allow_override_branch_in_task = BooleanField("Allow the branch to be set when a task starts")
    start_version = StringField(
        "Start version",
        description="The first build's version, e.g. 1.0.0.",
        render_kw={"data-show-when": "type=build"},
    )
    build_template_id = choice(
        "Build template",
        description="The build template whose versions this one deploys.",
        render_kw={"data-show-when": "type=deploy"},
    )
    autorun = BooleanField(
        "Run automatically after each successful build",
        render_kw={"data-show-when": "type=deploy"},
    )
    suppress_success_alerts = BooleanField("Suppress success alerts")
    vaults = FieldList(
        FormField(VaultRow),
        "Vaults",
        description="Ansible vault passwords: a login-with-password key of the Key Store, or "
        "a client script that prints the password.",
    )
    survey_vars = FieldList(
        FormField(SurveyVarRow),
        "Survey variables",
        description="Asked for when a task starts and passed as extra variables. A select's "
        "default value lists its values separated by commas.",
    )
    runner_tag = StringField(
        "Runner tag",
        description="Only a remote runner carrying this tag runs the tasks (optional).",
    )
    max_task_duration_sec = StringField(
        "Max duration (seconds)",
        description="A longer run is stopped and fails; empty or 0 for no limit but the "
        "server's max_task_duration_sec.",
    )
    # What the run dialog may set, kept in task_params under the original's names
    # (services.templates.RUN_OPTIONS).
    allow_override_inventory = BooleanField(
        "Inventory", description="Another inventory (a workspace for Terraform)."
    )
    allow_override_limit = BooleanField(
        "Limit",
        description="--limit: some of the hosts.",
        render_kw={"data-show-when": "app=ansible"},
    )
    allow_override_tags = BooleanField(
        "Tags", description="--tags: only some tasks.", render_kw={"data-show-when": "app=ansible"}
    )
    allow_override_skip_tags = BooleanField(
        "Skip tags",
        description="--skip-tags: leave some tasks out.",
        render_kw={"data-show-when": "app=ansible"},
    )


class RunnerForm(FlaskForm):
    name = StringField("Name")
    tags = StringField(
        "Tags",
        description="Separated by commas or spaces, e.g. linux dmz. A template with a runner "
        "tag runs only on runners carrying it.",
    )
    max_parallel_tasks = StringField(
        "Max parallel tasks", description="0 runs any number of tasks at once."
    )
    webhook = StringField(
        "Webhook", description="A URL called when a task starts on the runner (optional)."
    )
    active = BooleanField("Active")
    registered = BooleanField(
        "Give it a token now",
        description="Untick to register the runner later with a one-time registration token.",
    )


class ViewForm(FlaskForm):
    title = StringField("Title")
    position = StringField("Position", description="Views are shown in this order.")


SCHEDULE_TYPES = [("", "Repeating (cron)"), ("run_at", "Once, at a given time")]


class ScheduleForm(FlaskForm):
    name = StringField("Name")
    template_id = choice("Template")
    type = choice("Kind", SCHEDULE_TYPES, default="")
    cron_format = StringField(
        "Cron expression",
        description=(
            "Five fields: minute hour day-of-month month day-of-week, e.g. */15 * * * *. They are "
            "read in the server's schedule time zone (schedule.timezone, UTC by default) unless "
            "prefixed with another: CRON_TZ=Europe/Berlin 0 9 * * *."
        ),
        render_kw={"data-show-when": "type=", "class": "mono"},
    )
    run_at = StringField(
        "Run at",
        description="An RFC 3339 date and time, e.g. 2030-01-31T08:00:00Z.",
        render_kw={"data-show-when": "type=run_at"},
    )
    repository_id = choice(
        "Only on new commits of",
        description="Run only when this repository has a new commit (optional).",
    )
    active = BooleanField("Active")


def attach_error(form: FlaskForm, exc: SemaphoreError) -> None:
    """Show each of a service's problems next to its field (or at the top of the form).

    Service fields are the API's names: "ssh.private_key" is the form's `ssh_private_key`, and
    "vaults[1].vault_key_id" is the key picker of the `vaults` editor's second row (or the
    editor itself when it has no such row).
    """
    for message, path in getattr(exc, "problems", None) or [(exc.message, exc.field)]:
        field, rest = _field_at(form, path) if path else (None, "")
        if field is None:
            form.form_errors.append(message)
        else:
            text = labelled(SemaphoreError(message, path), field, rest)
            field.errors = [*list(field.errors or []), text]


# "survey_vars[1].values[0].name" -> survey_vars, [1], values, [0], name
_PATH_PART = re.compile(r"\[\d+\]|[^.\[\]]+")


def _field_at(form: BaseForm, path: str) -> tuple[Field | None, str]:
    """The form's field a service's field path names, and the part of the path it found (the
    row it is in included); a field of a row the form lacks falls back to its list."""
    for name in (path, path.replace(".", "_")):
        field = form._fields.get(name)
        if field is not None:
            return field, path
    found: Field | None = None
    current: Any = form
    walked = ""
    for part in _PATH_PART.findall(path):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(current, FieldList) or index >= len(current.entries):
                break
            current = current.entries[index]
        else:
            container = current.form if isinstance(current, FormField) else current
            child = getattr(container, "_fields", {}).get(part)
            if child is None:
                break
            current = child
        walked = f"{walked}{part}" if part.startswith("[") or not walked else f"{walked}.{part}"
        if not isinstance(current, FormField):
            found = current
    return found, walked if found is not None else ""


def labelled(exc: SemaphoreError, field, path: str | None = None) -> str:
    """The service's message in the form's words: a message that starts with the API's name of
    this very field ("inventory_id is required", "ssh.private_key is not a valid private key")
    starts with the field's label instead ("Inventory is required"). At a row's field (`path`
    names the row) the rows are where the message is shown, not part of it: "survey_vars[1]:
    name is required" at row 2's name reads "Name is required". A message about a part of a
    field the form cannot point at keeps its path."""
    message, name = exc.message, exc.field or ""
    rows = _ROW_PREFIX.match(message)
    if rows and path and "[" in path:
        message = message[rows.end() :]
        name = path.rsplit(".", 1)[-1]
        if not message.startswith(name + " "):
            return message[:1].upper() + message[1:]
    elif not (name.replace(".", "_") == field.name and message.startswith(name + " ")):
        return message
    label = re.sub(r"\s*\([^)]*\)$", "", field.label.text) or field.label.text
    return label + message[len(name) :]


# The list items a service's message starts with: "survey_vars[1]: values[0]: ".
_ROW_PREFIX = re.compile(r"^(?:\w+\[\d+\]: )+")


class PasscodeForm(FlaskForm):
    passcode = StringField("Code from your authenticator app")


class RecoveryCodeForm(FlaskForm):
    recovery_code = StringField("Recovery code")


TOKEN_LIFETIMES = options(
    [("", "Never expires"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]
)


class TokenForm(FlaskForm):
    name = StringField("Name")
    expires_in_days = SelectField("Expires", choices=TOKEN_LIFETIMES, validate_choice=False)
