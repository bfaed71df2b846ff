"""A remote runner: what a request gives and what the API shows.

A runner's token is shown once, in the answer that creates it (RunnerCreatedOut); every other
answer shows `token` and `private_key` empty, as we keep only the token's digest. A registration
token is likewise shown once, by …/registration-token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from semaphore.models.task import TASK_STATUSES
from semaphore.runner_tags import tag_problem
from semaphore.schemas.base import (
    InputModel,
    JsonBool,
    JsonInt,
    NonNegativeInt,
    OutputModel,
    ShortText,
    Text,
    Timestamp,
    invalid,
    list_of,
)

MAX_TAGS = 50
MAX_WEBHOOK = 1024  # Runner.webhook is String(1024)


def _checked_tag(tag: str) -> str:
    """One tag, trimmed, by the one rule (semaphore.runner_tags)."""
    tag = tag.strip()
    problem = tag_problem(tag)
    if problem is not None:
        raise invalid(problem)
    return tag


def _tags(value: Any) -> list[str]:
    """A JSON array of tags, each checked; each tag once, in the order given."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("must be an array of strings")
    if len(value) > MAX_TAGS:
        raise invalid(f"must hold at most {MAX_TAGS} tags")
    return list(dict.fromkeys(_checked_tag(item) for item in value))


def _optional_tag(value: Any) -> str | None:
    """A template's runner_tag: null or "" is none (the original refuses ""; a client that
    sends it for "no tag" is not refused here)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid("must be a string")
    return _checked_tag(value)


Tags = Annotated[list[str], BeforeValidator(_tags)]
RunnerTag = Annotated[
    str | None, BeforeValidator(_optional_tag), WithJsonSchema({"type": ["string", "null"]})
]


def _checked_webhook(webhook: str) -> str:
    """An http(s) URL, or empty."""
    if not webhook:
        return webhook
    try:
        parts = urlsplit(webhook)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed host ("http://[")
        usable = False
    if not usable:
        raise invalid("webhook must be an http or https URL")
    return webhook


Webhook = Annotated[Text(MAX_WEBHOOK), AfterValidator(_checked_webhook)]


class RunnerIn(InputModel):
    """POST and PUT /runners… and /project/{id}/runners…: the contract's RunnerRequest.

    `active` is None when the body leaves it out: a create then makes the runner inactive (Go's
    zero value, as the original) and an update keeps the runner's state. `registered: false`
    creates a runner with no credentials, inactive, to be registered with a registration token.
    """

    # The original's body carries the project id; the service checks it matches the URL's.
    project_id: JsonInt | None = None
    name: ShortText = ""
    webhook: Webhook = ""
    max_parallel_tasks: NonNegativeInt = 0
    active: JsonBool | None = None
    tags: Tags = Field(default_factory=list)
    is_default: JsonBool = False
    registered: JsonBool = True


class TemplateRunnerTagIn(InputModel):
    """A template's runner_tag alone: how a backup's template reads it, by the API's rule."""

    runner_tag: RunnerTag = None


class RunnerActiveIn(InputModel):
    """POST …/runners/{id}/active: `{"active": true|false}`."""

    active: JsonBool


def _tags_list(value: Any) -> Any:
    # A runner stored without tags (or with a text that no longer parses) has none.
    return value if isinstance(value, list) else []


class RunnerOut(OutputModel):
    """A runner as the lists show it (the contract's Runner)."""

    id: int
    project_id: int | None
    name: str
    webhook: str
    max_parallel_tasks: int
    active: bool
    is_default: bool
    tags: Annotated[list[str], BeforeValidator(_tags_list)]
    touched: Timestamp | None
    cleaning_requested: Timestamp | None
    registered: bool

    @classmethod
    def seen_from(cls, row: Any, project_id: int | None) -> RunnerOut:
        """The runner as a project's list shows it: a global runner without its webhook, which
        is the administrators' business (it may carry a secret)."""
        shown = cls.model_validate(row)
        if project_id is not None and shown.project_id is None:
            shown = shown.model_copy(update={"webhook": ""})
        return shown


class RunnerWithTokenOut(RunnerOut):
    """One runner (the contract's RunnerWithToken). Only the answer of a create carries the
    token ("" for an unregistered runner); we keep its digest, so it is empty everywhere else.
    We generate no key pairs, so `private_key` is always empty."""

    token: str = ""
    private_key: str = ""


class RunnerRegistrationTokenOut(OutputModel):
    """POST …/registration-token: the one-time token, shown once."""

    registration_token: str
    runner_id: int
    project_id: int | None


class RunnerTagOut(OutputModel):
    """A tag and how many runners carry it."""

    tag: str
    number_of_runners: int


RunnerList = list_of(RunnerOut)
RunnerTagList = list_of(RunnerTagOut)


# --- the runner protocol (/api/internal/runners) -----------------------------------------------


class GoKeysIn(InputModel):
    """A body read as the original's Go decoder reads it: each key matches a field whatever
    its letter case ("Registration_Token", "jobs", "LOGRECORDS"). `go_names` maps each
    field to the name the Go struct gives it (its JSON tag, or the Go field name when untagged);
    for duplicates the last key wins, as in Go."""

    go_names: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _any_letter_case(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = {go_name.lower(): field for field, go_name in cls.go_names.items()}
        matched: dict[str, Any] = {}
        for key, value in data.items():
            field = fields.get(key.lower()) if isinstance(key, str) else None
            if field is not None:
                matched[field] = value
        return matched


class RunnerRegistrationIn(GoKeysIn):
    """POST /internal/runners: `{"registration_token", "webhook", "max_parallel_tasks"}`.
    A missing token is an empty one, which no registration accepts. The original's newer
    runners also send `public_key` (for encrypted job answers); we do not encrypt, so it is
    read and not used. `tags` is our addition."""

    go_names: ClassVar[dict[str, str]] = {
        "registration_token": "registration_token",
        "webhook": "webhook",
        "max_parallel_tasks": "max_parallel_tasks",
        "public_key": "public_key",
        "tags": "tags",
    }

    registration_token: Text(None, strip=False) = ""
    webhook: Webhook = ""
    max_parallel_tasks: NonNegativeInt = 0
    public_key: Text(None, strip=False) = ""
    # Ours: the runner's tags from its config (a runner an admin created keeps the admin's).
    tags: Tags = Field(default_factory=list)


class LogRecordIn(GoKeysIn):
    """One output line with the time the runner read it."""

    go_names: ClassVar[dict[str, str]] = {"time": "time", "message": "message"}

    time: datetime
    message: Text(None, strip=False) = ""

    @field_validator("time")
    @classmethod
    def _in_utc(cls, time: datetime) -> datetime:
        # A time without a zone is taken as UTC.
        return time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC)


class CommitIn(GoKeysIn):
    go_names: ClassVar[dict[str, str]] = {"hash": "hash", "message": "message"}

    hash: Text(64) = ""
    message: Text(None, strip=False) = ""

    @field_validator("hash")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise invalid("must not contain a NUL character")
        return value

    @field_validator("message")
    @classmethod
    def _nul_shown(cls, value: str) -> str:
        # No database stores NUL in text: shown as U+FFFD, as in output lines.
        return value.replace("\x00", "\ufffd")


class JobProgressIn(GoKeysIn):
    """One job of the runner's report: its status ("" for no change), new lines, commit."""

    go_names: ClassVar[dict[str, str]] = {
        "id": "ID",
        "status": "Status",
        "log_records": "LogRecords",
        "commit": "Commit",
    }

    id: JsonInt
    status: Literal["", *TASK_STATUSES] = ""
    log_records: list[LogRecordIn] = Field(default_factory=list)
    commit: CommitIn | None = None


class RunnerProgressIn(GoKeysIn):
    """PUT /internal/runners: `{"Jobs": [{"ID", "Status", "LogRecords": [{"time",
    "message"}], "Commit": {"hash", "message"}}]}` (untagged Go names: any letter case)."""

    go_names: ClassVar[dict[str, str]] = {"jobs": "Jobs"}

    jobs: list[JobProgressIn] = Field(default_factory=list)


class RunnerTokenOut(OutputModel):
    """The answer to a registration: the runner's token, shown this once."""

    token: str


class JobStateOut(OutputModel):
    id: int
    status: str


class RunnerStateOut(OutputModel):
    """GET /internal/runners: the runner's jobs (the original's RunnerState: `CurrentJobs`
    untagged, `new_jobs` and `access_keys` tagged), plus the runner's `active` and
    `cleaning_requested` (ours). A new job and the keys carry secrets: only this answer, to
    the runner's own token, holds them."""

    CurrentJobs: list[JobStateOut]
    new_jobs: list[dict[str, Any]]
    access_keys: dict[str, dict[str, Any]]
    active: bool
    cleaning_requested: Timestamp | None
