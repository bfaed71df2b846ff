"""A remote runner: what a request gives and what the API shows.

A runner's token is shown once, in the answer that creates it (RunnerCreatedOut); every other
answer shows `token` and `private_key` empty, as we keep only the token's digest. A registration
token is likewise shown once, by …/registration-token.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, field_validator

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
MAX_TAG = 64
MAX_WEBHOOK = 1024  # Runner.webhook is String(1024)

Webhook = Text(MAX_WEBHOOK)


def _tags(value: Any) -> list[str]:
    """A JSON array of tags, each trimmed, non-empty, short, with no spaces or commas; each
    tag once, in the order given."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("must be an array of strings")
    if len(value) > MAX_TAGS:
        raise invalid(f"must hold at most {MAX_TAGS} tags")
    tags = [item.strip() for item in value]
    for tag in tags:
        if not tag:
            raise invalid("must not hold an empty tag")
        if len(tag) > MAX_TAG:
            raise invalid(f"must hold tags of at most {MAX_TAG} characters")
        if any(char.isspace() or char == "," for char in tag):
            raise invalid("must hold tags without spaces or commas")
    return list(dict.fromkeys(tags))


Tags = Annotated[list[str], BeforeValidator(_tags)]


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

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, webhook: str) -> str:
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
