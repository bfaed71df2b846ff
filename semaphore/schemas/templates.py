"""A template: what a request gives (with its survey variables and vaults) and what the API shows.

PUT replaces the whole template, as the original binds the full object, so every field has the
default an omitted one goes back to. Only the shape is checked here; whether the inventory,
repository, environments, build template and vault keys exist in the project (and a vault id
belongs to the template) is the service's to check. A backup's template goes through the same
survey variable and vault rules (schemas.backup).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from semaphore.errors import ValidationError
from semaphore.models import TEMPLATE_TYPES
from semaphore.schemas.base import (
    MAX_NAME,
    InputModel,
    JsonBool,
    JsonInt,
    Name,
    NonNegativeInt,
    OutputModel,
    ShortText,
    Text,
    invalid,
    list_of,
)
from semaphore.schemas.choices import TERRAFORM_APPS, VALID_APPS
from semaphore.schemas.json_text import parse_json_text
from semaphore.schemas.runners import RunnerTag
from semaphore.schemas.survey import SurveyVar, check_survey_names

VAULT_TYPES = ("password", "script")
MAX_TEXT = 64 * 1024
MAX_ENVIRONMENTS = 50
ARGUMENTS_MESSAGE = "arguments must be a JSON array of strings"


def _environment_ids(value: object) -> object:
    # Each item is checked by the service with its reference, as "environment_ids[0] ...".
    if not isinstance(value, list):
        raise invalid("environment_ids must be an array of ids")
    if len(value) > MAX_ENVIRONMENTS:
        raise invalid(f"environment_ids may list at most {MAX_ENVIRONMENTS} environments")
    return value


def _string_array_text(arguments: str) -> None:
    """`arguments`: JSON text (by the one rule, schemas.json_text) of an array of strings."""
    try:
        parsed = parse_json_text(arguments, "arguments", message=ARGUMENTS_MESSAGE)
    except ValidationError as exc:
        raise invalid(exc.message) from None
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise invalid(ARGUMENTS_MESSAGE)


def _type_in(choices: tuple[str, ...], message: str) -> Any:
    def check(value: str) -> str:
        if value not in choices:
            raise invalid(message)
        return value

    return check


# --- vaults -------------------------------------------------------------------------------------


class VaultFields(InputModel):
    """What a vault is, whoever names its key: a request by id (VaultIn), a backup by name."""

    type: Text(16) = "password"
    script: Text(1024) | None = Field(None, validate_default=True)
    name: ShortText | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, kind: str) -> str:
        kind = kind or "password"
        if kind not in VAULT_TYPES:
            raise invalid("type must be password or script")
        return kind

    @field_validator("script")
    @classmethod
    def _script(cls, script: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if kind == "script" and not script:
            raise invalid("script is required")
        return script if kind == "script" else None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str | None) -> str | None:
        return name or None


def key_of_password_vault(
    value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> Any:
    """The key field of a vault: required for a password vault, ignored for a script one."""
    if info.data.get("type") != "password":
        return None
    key = handler(value)
    if not key:
        raise invalid(f"{info.field_name} is required")
    return key


class VaultIn(VaultFields):
    """A template's vault in a request: id 0 (or none) adds one, a known id keeps it."""

    id: JsonInt | None = None
    vault_key_id: JsonInt | None = Field(None, validate_default=True)

    _key = field_validator("vault_key_id", mode="wrap")(key_of_password_vault)


def check_vault_names(vaults: Sequence[VaultFields]) -> None:
    """ansible refuses two vault ids of one name; an unnamed vault is "default"."""
    for index, vault in enumerate(vaults):
        name = vault.name or "default"
        if any((other.name or "default") == name for other in vaults[:index]):
            raise invalid(
                f"vaults[{index}]: two vaults have the same name", f"vaults[{index}].name"
            )


# --- the template -------------------------------------------------------------------------------


class TemplateIn(InputModel):
    """POST and PUT …/templates. Fields are checked in this order."""

    # The original's body carries the ids too; the service checks they match the URL's.
    id: JsonInt | None = None
    project_id: JsonInt | None = None
    app: str = "ansible"
    environment_id: JsonInt | None = None
    environment_ids: (
        Annotated[
            list[Any],
            BeforeValidator(_environment_ids),
            WithJsonSchema({"type": "array", "items": {"type": "integer"}}),
        ]
        | None
    ) = None
    name: Name
    playbook: Text(1024) = Field("", validate_default=True)
    inventory_id: JsonInt | None = None
    repository_id: JsonInt | None = None
    view_id: JsonInt | None = None
    type: Text(16) = ""
    start_version: Text(20) | None = None
    build_template_id: JsonInt | None = None
    autorun: JsonBool = False
    arguments: Text(MAX_TEXT) | None = None
    description: Text(MAX_TEXT, strip=False) | None = None
    git_branch: Text(MAX_NAME, strip=False) | None = None
    survey_vars: list[SurveyVar] | None = None
    # The contract's TaskPrams; its fields are checked by services.tasks.params.
    task_params: dict[str, Any] | None = None
    allow_override_args_in_task: JsonBool = False
    allow_override_branch_in_task: JsonBool = False
    suppress_success_alerts: JsonBool = False
    vaults: list[VaultIn] = []
    # The original's runner_tag (not in the 2.16 contract): "" or null means no tag.
    runner_tag: RunnerTag = None
    # Ours (AWX has one): a run of the template longer than this many seconds is stopped and
    # ends `error`; 0 or null means none (the global max_task_duration_sec may still apply).
    max_task_duration_sec: NonNegativeInt | None = None
    # In the contract's TemplateRequest; the original ignores it, and so do we.
    limit: Annotated[Any, WithJsonSchema({"type": ["string", "null"]})] = None

    _type = field_validator("type")(
        _type_in(TEMPLATE_TYPES, "type must be one of '', build, deploy")
    )

    @model_validator(mode="before")
    @classmethod
    def _app(cls, data: dict[str, Any]) -> dict[str, Any]:
        # First, as the original: the app decides what else is required. The original's text
        # names no field, so this is checked on the whole body.
        app = data.get("app")
        if app is None or app == "":
            return {**data, "app": "ansible"}
        if not isinstance(app, str) or app not in VALID_APPS:
            raise invalid(f"Invalid app id: {app}", "app")
        return data

    @field_validator("playbook")
    @classmethod
    def _playbook(cls, playbook: str, info: ValidationInfo) -> str:
        if info.data.get("app") in TERRAFORM_APPS:
            # For the Terraform family the playbook is a sub-directory of the repository.
            return playbook.lstrip("/")
        if not playbook:
            raise invalid("playbook is required")
        return playbook

    @field_validator("start_version", mode="wrap")
    @classmethod
    def _start_version(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> str | None:
        # Only a build template has one; for others whatever is sent is ignored.
        return (handler(value) or None) if info.data.get("type") == "build" else None

    @field_validator("build_template_id", mode="wrap")
    @classmethod
    def _build_template_id(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> int | None:
        # Only a deploy template has one (the service checks it names a build template).
        return handler(value) if info.data.get("type") == "deploy" else None

    @field_validator("arguments")
    @classmethod
    def _arguments(cls, arguments: str | None) -> str | None:
        if not arguments:
            return None
        _string_array_text(arguments)
        return arguments

    @field_validator("description", "git_branch")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _lists(self) -> TemplateIn:
        check_survey_names(self.survey_vars or [])
        check_vault_names(self.vaults)
        return self

    def stored_survey_vars(self) -> list[dict[str, Any]] | None:
        """The survey variables as the template stores them, None for none."""
        return [var.stored() for var in self.survey_vars] if self.survey_vars else None


# --- what the API shows -------------------------------------------------------------------------


class TemplateVaultOut(OutputModel):
    """A template's vault as the contract shows it."""

    id: int
    project_id: int
    template_id: int
    vault_key_id: int | None
    name: str | None
    type: str
    script: str | None


class TemplateOut(OutputModel):
    """A template as the contract shows it, with its vaults, environments and last task."""

    id: int
    project_id: int
    inventory_id: int | None
    repository_id: int | None
    environment_id: int | None
    environment_ids: list[int]
    view_id: int | None
    name: str
    app: str
    playbook: str
    arguments: str | None
    description: str | None
    allow_override_args_in_task: bool
    allow_override_branch_in_task: bool
    suppress_success_alerts: bool
    git_branch: str | None
    type: str
    start_version: str | None
    build_template_id: int | None
    autorun: bool
    # As stored: each variable was checked by SurveyVar when it was written.
    survey_vars: list[dict[str, Any]]
    vaults: list[TemplateVaultOut]
    task_params: dict[str, Any] | None
    runner_tag: str | None
    max_task_duration_sec: int | None
    tasks: int
    # The task shape of api/tasks.py (a TaskOut of the tasks' schema once there is one).
    last_task: dict[str, Any] | None


TemplateList = list_of(TemplateOut)
