"""Flask-WTF forms: they parse fields and carry the CSRF token; services hold the rules.

Fields are plain strings and booleans: choices are not checked here (`validate_choice=False`)
and numbers are not parsed here, so that every rule and every message comes from the service.
"""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
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
        "Extra variables (JSON)",
        description='A JSON object, e.g. {"version": "1.2"}.',
        render_kw={"rows": 6, "class": "mono"},
    )
    env = TextAreaField(
        "Environment variables (JSON)",
        description='A JSON object of strings, e.g. {"HTTP_PROXY": "…"} (optional).',
        render_kw={"rows": 4, "class": "mono"},
    )
    remove_secrets = SelectMultipleField(
        "Remove", choices=[], validate_choice=False, coerce=str, option_widget=CheckboxInput()
    )
    secrets = FieldList(FormField(SecretRowForm), min_entries=1)


TEMPLATE_TYPES = [("", "Task"), ("build", "Build"), ("deploy", "Deploy")]


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
    arguments = TextAreaField(
        "Arguments (JSON)",
        description='A JSON array of strings, e.g. ["--tags", "web"] (optional).',
        render_kw={"rows": 2, "class": "mono"},
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
    vaults = TextAreaField(
        "Vaults (JSON)",
        description='e.g. [{"name": "default", "vault_key_id": 3}] (optional).',
        render_kw={"rows": 3, "class": "mono"},
    )
    survey_vars = TextAreaField(
        "Survey variables (JSON)",
        description='e.g. [{"name": "version", "title": "Version", "type": "", "required": true, '
        '"default_value": "1.0", "description": "Shown under the input"}] (optional). Types: "" '
        "(a line), text (several lines), int, boolean, secret, enum (one of its values) and "
        'select (several), the last two with "values": [{"name": "Shown", "value": "passed"}].',
        render_kw={"rows": 3, "class": "mono"},
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
    """Show a service's error next to its field (or at the top of the form).

    Service fields are the API's names: "ssh.private_key" is the form's `ssh_private_key`, and
    "vaults[0].name" belongs to the `vaults` field.
    """
    field = None
    if exc.field:
        for name in (exc.field, exc.field.replace(".", "_"), re.split(r"[.\[]", exc.field)[0]):
            field = getattr(form, name, None)
            if field is not None and hasattr(field, "errors"):
                break
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors or []), labelled(exc, field)]
    else:
        form.form_errors.append(exc.message)


def labelled(exc: SemaphoreError, field) -> str:
    """The service's message in the form's words: a message that starts with the API's name of
    this very field ("inventory_id is required", "ssh.private_key is not a valid private key")
    starts with the field's label instead ("Inventory is required"). A message about a part of
    a field ("vaults[0].name …") keeps its path, which the label could not say."""
    message, name = exc.message, exc.field or ""
    direct = name.replace(".", "_") == field.name
    if not (direct and message.startswith(name + " ")):
        return message
    label = re.sub(r"\s*\([^)]*\)$", "", field.label.text) or field.label.text
    return label + message[len(name) :]


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
