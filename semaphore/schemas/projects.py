"""Projects, their members and their events: what a request gives and what the API shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from semaphore.models.project import ROLES
from semaphore.schemas.base import (
    MAX_NAME,
    InputModel,
    JsonBool,
    JsonInt,
    Name,
    NonNegativeInt,
    OutputModel,
    Timestamp,
    invalid,
    json_string,
    list_of,
)

MAX_TYPE = 32
MAX_ALERT_CHAT = 30


ProjectType = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_TYPE), BeforeValidator(json_string)
]
AlertChat = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_ALERT_CHAT),
    BeforeValidator(json_string),
]


class ProjectIn(InputModel):
    """POST /api/projects. As in the original, only the name and type are taken; `demo` is
    checked but the demo resources are not made."""

    name: Name
    type: ProjectType = ""
    demo: JsonBool | None = None


_ID = TypeAdapter(JsonInt)


class ProjectUpdateIn(InputModel):
    """PUT /api/project/{id}. `id`, when given, must be the URL's (parse's context
    `project_id`). An omitted `type` or `task_retention_days` keeps the project's (the service
    tells them apart); `task_retention_days` is ours (null: the global setting's)."""

    id: JsonInt | None = None
    name: Name
    alert: JsonBool = False
    alert_chat: AlertChat = ""
    max_parallel_tasks: NonNegativeInt = 0
    type: ProjectType = ""
    task_retention_days: NonNegativeInt | None = None

    @model_validator(mode="before")
    @classmethod
    def _same_project(cls, data: Any, info: ValidationInfo) -> Any:
        # Checked before the other fields, as it always was; a malformed id is left to the
        # field's own check.
        if not isinstance(data, Mapping):
            return data
        try:
            body_id = _ID.validate_python(data.get("id") or 0)
        except PydanticValidationError:
            return data
        if body_id and body_id != (info.context or {}).get("project_id"):
            raise invalid("Project ID in body and URL must be the same", "id")
        return data


class ProjectOut(OutputModel):
    """A project as the contract shows it."""

    id: int
    name: str
    created: Timestamp
    alert: bool
    alert_chat: str | None
    max_parallel_tasks: int
    type: str
    task_retention_days: int | None


ProjectList = list_of(ProjectOut)


class ProjectRoleOut(OutputModel):
    """GET /api/project/{id}/role: the caller's role and its permission bits."""

    role: str
    permissions: int


# --- members ----------------------------------------------------------------------------------


def _role(value: Any) -> Any:
    # In the old checks' order: a string, not blank, not too long, then one of the roles.
    if not isinstance(value, str):
        raise invalid("must be a string")
    value = value.strip()
    if not value:
        raise invalid("is required")
    if len(value) > MAX_NAME:
        raise invalid(f"must be at most {MAX_NAME} characters")
    if value not in ROLES:
        raise invalid(f"role must be one of {', '.join(ROLES)}")
    return value


Role = Annotated[
    str, BeforeValidator(_role), WithJsonSchema({"type": "string", "enum": list(ROLES)})
]


class MemberRoleIn(InputModel):
    """PUT /api/project/{id}/users/{user_id}."""

    role: Role


class MemberIn(InputModel):
    """POST /api/project/{id}/users."""

    user_id: JsonInt
    role: Role


class MemberOut(OutputModel):
    """A member as the contract shows it: the user and their role in the project."""

    id: int
    username: str
    name: str
    role: str

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: Any) -> Any:
        # The projects service lists members as (user, role) pairs.
        if isinstance(value, tuple):
            user, role = value
            return {"id": user.id, "username": user.username, "name": user.name, "role": role}
        return value


MemberList = list_of(MemberOut)


# --- events -----------------------------------------------------------------------------------


class EventOut(OutputModel):
    """An event with the names of its user and project (None when they are gone)."""

    project_id: int | None
    user_id: int | None
    integration_id: int | None
    object_id: int | None
    object_type: str | None
    object_name: str
    description: str | None
    created: Timestamp
    username: str | None
    project_name: str | None

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, value: Any) -> Any:
        # The events service lists (event, username, project name) rows.
        if isinstance(value, tuple):
            event, username, project_name = value
            return {
                "project_id": event.project_id,
                "user_id": event.user_id,
                "integration_id": event.integration_id,
                "object_id": event.object_id,
                "object_type": event.object_type,
                "object_name": event.object_name,
                "description": event.description,
                "created": event.created,
                "username": username,
                "project_name": project_name,
            }
        return value


EventList = list_of(EventOut)


# --- backup -----------------------------------------------------------------------------------


class ProjectBackup(InputModel):
    """A project's backup document (GET …/backup, POST /api/projects/restore), with the
    contract's sections. Loose on purpose: restore checks each item through its resource's
    rules, and anything else in the document is kept as it is."""

    model_config = ConfigDict(extra="allow", frozen=True)

    meta: dict[str, Any] | None = None
    keys: list[dict[str, Any]] | None = None
    repositories: list[dict[str, Any]] | None = None
    inventories: list[dict[str, Any]] | None = None
    environments: list[dict[str, Any]] | None = None
    templates: list[dict[str, Any]] | None = None
    views: list[dict[str, Any]] | None = None
