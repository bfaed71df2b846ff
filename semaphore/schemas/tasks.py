"""A task: what POST …/tasks takes and the one shape every answer shows a task in; the run
parameters (the contract's TaskPrams) that templates, schedules and integrations carry; a line
of a task's output.

Fields holding JSON as text (a task's environment, secret and arguments) are checked by the one
rule users' JSON follows everywhere: strict JSON (no NaN or Infinity), at most MAX_JSON_DEPTH
levels of arrays and objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring_ascii as _json_string
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict

from semaphore.errors import ValidationError
from semaphore.models import isoformat
from semaphore.schemas.base import (
    MAX_TEXT,
    InputModel,
    JsonBool,
    JsonInt,
    OutputModel,
    Text,
    Timestamp,
    invalid,
    json_string,
    list_of,
)
from semaphore.schemas.json_text import (
    MAX_JSON_DEPTH,
    NestedTooDeeply,
    parse_json_text,
    stored_object,
)

MAX_MESSAGE = 250
FLAG_PARAMS = ("debug", "dry_run", "diff", "plan", "destroy", "auto_approve", "upgrade")
LIST_PARAMS = ("limit", "tags", "skip_tags")


Playbook = Text(1024)
HostLimit = Text(4096)
Branch = Text(255)
Message = Text(MAX_MESSAGE)


def _commit_hash(value: Any) -> Any:
    if not isinstance(value, str):
        raise invalid("must be a string")
    value = value.strip()
    if value and not (4 <= len(value) <= 64 and all(c in "0123456789abcdefABCDEF" for c in value)):
        raise invalid("must be a commit hash (4 to 64 hexadecimal digits)")
    return value


# A commit to check out instead of the branch's head (a re-run pinned to what ran before).
CommitHash = Annotated[str, BeforeValidator(_commit_hash)]
# A text kept exactly as given (no trimming), as the original stores TaskPrams' texts.
RawText = Annotated[str, BeforeValidator(json_string)]


def json_value(source: str) -> Any:
    """The JSON in `source`, by the one rule (schemas.json_text).

    Raises:
        PydanticCustomError: "must be valid JSON" or "is nested too deeply (…)", for a field.
    """
    try:
        return parse_json_text(source)
    except NestedTooDeeply:
        raise invalid(f"is nested too deeply (at most {MAX_JSON_DEPTH} levels)") from None
    except ValidationError:
        raise invalid("must be valid JSON") from None


def _json_text_of(kind: type) -> Any:
    """A field holding JSON text of the given kind (an object, or an array of strings); an
    empty or blank text means none (None). The text is kept as given."""

    def check(value: object) -> object:
        if not isinstance(value, str):
            raise invalid("must be a string")
        if len(value) > MAX_TEXT:
            raise invalid(f"must be at most {MAX_TEXT} characters")
        if not value.strip():
            return None
        parsed = json_value(value)
        if not isinstance(parsed, kind):
            raise invalid("must be an object" if kind is dict else "must be an array")
        if kind is list and not all(isinstance(item, str) for item in parsed):
            raise invalid("must be an array of strings")
        return value

    return Annotated[str | None, BeforeValidator(check)]


ObjectText = _json_text_of(dict)
StringListText = _json_text_of(list)


def _strings(value: object) -> object:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("must be an array of strings")
    return value


StringList = Annotated[list[str], BeforeValidator(_strings)]


class RunParams(InputModel):
    """Ansible and Terraform run parameters (the contract's AnsibleTaskParams and
    TerraformTaskParams): flags are booleans, lists are lists of strings; other keys are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    debug: JsonBool | None = None
    dry_run: JsonBool | None = None
    diff: JsonBool | None = None
    plan: JsonBool | None = None
    destroy: JsonBool | None = None
    auto_approve: JsonBool | None = None
    upgrade: JsonBool | None = None
    limit: StringList | None = None
    tags: StringList | None = None
    skip_tags: StringList | None = None

    def values(self) -> dict[str, Any]:
        """The parameters given, as they were given (the others left out)."""
        return self.model_dump(exclude_unset=True)


class RunParamsBody(InputModel):
    """A task's `params` alone: the run parameters an automated task starts with."""

    params: RunParams


class TaskParams(InputModel):
    """The contract's TaskPrams: what a template, schedule or integration starts its runs with.

    The environment and arguments texts are stored unchecked, as in the original; other keys
    are kept as given."""

    model_config = ConfigDict(extra="allow", frozen=True)

    environment: RawText | None = None
    git_branch: RawText | None = None
    message: RawText | None = None
    arguments: RawText | None = None
    params: RunParams | None = None

    def stored(self) -> dict[str, Any] | None:
        """The parameters to store (a JsonText column), None when nothing is set."""
        return self.model_dump(exclude_unset=True) or None


class TaskIn(InputModel):
    """POST …/tasks: a run of a template. The template and inventory must be the project's
    (checked by the service)."""

    template_id: JsonInt | None = None
    secret: ObjectText = None
    debug: JsonBool = False
    dry_run: JsonBool = False
    diff: JsonBool = False
    playbook: Playbook = ""
    environment: ObjectText = None
    limit: HostLimit = ""
    git_branch: Branch = ""
    message: Message = ""
    arguments: StringListText = None
    inventory_id: JsonInt | None = None
    params: RunParams | None = None
    build_task_id: JsonInt | None = None
    commit_hash: CommitHash = ""


# An object read from a JsonText column (task parameters); null when none.
StoredObject = Annotated[dict[str, Any] | None, BeforeValidator(stored_object)]


class TaskOut(OutputModel):
    """A task as every answer shows it: the original's Task with its TaskWithTpl fields (the
    template's playbook, name, type and app, and the starting user's name). The secret never
    shows: "{}" in the answer to POST, "" elsewhere."""

    id: int
    template_id: int
    project_id: int
    status: str
    debug: bool
    dry_run: bool
    diff: bool
    playbook: str
    environment: str
    limit: str
    secret: str
    arguments: str | None
    git_branch: str | None
    params: StoredObject
    user_id: int | None
    integration_id: int | None
    schedule_id: int | None
    created: Timestamp
    start: Timestamp | None
    end: Timestamp | None
    message: str
    commit_hash: str | None
    commit_message: str
    build_task_id: int | None
    version: str | None
    inventory_id: int | None
    tpl_playbook: str
    tpl_alias: str
    tpl_type: str
    tpl_app: str
    user_name: str | None
    # Ours: the remote runner the task was handed to, and why a waiting task waits (a
    # parallel limit, no runner with its tag, Redis unreachable; a confirmation), null when it
    # is about to start or not waiting.
    runner_id: int | None
    waiting_reason: str | None = None

    @classmethod
    def of(
        cls,
        task: Any,
        template: Any,
        user_name: str | None,
        *,
        secret: str = "",
        waiting_reason: str | None = None,
    ) -> dict[str, Any]:
        """The task with its template and user name, as the API shows it."""
        values: dict[str, Any] = {
            name: getattr(task, name) for name in cls.model_fields if hasattr(task, name)
        }
        values.update(
            secret=secret,
            tpl_playbook=template.playbook,
            tpl_alias=template.name,
            tpl_type=template.type,
            tpl_app=template.app,
            user_name=user_name,
            waiting_reason=waiting_reason,
        )
        return cls.dump(values)


TaskList = list_of(TaskOut)


class TaskOutputLine(OutputModel):
    """One line of a task's output (the contract's TaskOutput); `task` is always ""."""

    task_id: int
    task: str = ""
    time: Timestamp
    output: str


TaskOutputLines = list_of(TaskOutputLine)


def output_lines_json(blocks: Iterable[Any]) -> Iterator[str]:
    """A JSON array of TaskOutputLine, written a block of lines at a time (blocks have
    `task_id`, `times` and `texts`): the text json.dumps(TaskOutputLines.dump(lines),
    separators=(",", ":")) gives, built without a dict per line, for logs of a million lines
    (tests compare the two)."""
    yield "["
    separator = ""
    for block in blocks:
        head = f'{{"task_id":{int(block.task_id)},"task":"","time":'
        # Lines of one read share a time: each distinct time is written once per block.
        stamps = {moment: json.dumps(isoformat(moment)) for moment in set(block.times)}
        # json.dumps's own string escaping (ensure_ascii), one C call per line.
        lines = [
            f'{head}{stamps[moment]},"output":{_json_string(text)}}}'
            for moment, text in zip(block.times, block.texts, strict=True)
        ]
        yield separator + ",".join(lines)
        separator = ","
    yield "]"


class FoundLine(TaskOutputLine):
    """A line found by GET …/output/search, with its line number."""

    seq: int


class OutputSearchAnswer(OutputModel):
    """A page of found lines; `next_after` is the `after` of the next page, null on the last."""

    lines: list[FoundLine]
    next_after: int | None


class StopIn(InputModel):
    """POST …/tasks/{id}/stop and …/templates/{id}/stop_all_tasks (the body is optional)."""

    force: JsonBool = False


class LastTasksQuery(InputModel):
    """GET …/tasks/last: at most `limit` tasks (1 to 200, default 200)."""

    limit: int | None = None


class OutputQuery(InputModel):
    """GET …/tasks/{id}/output: the lines after line number `after`, at most `limit`."""

    after: int | None = None
    limit: int | None = None


class OutputSearchQuery(OutputQuery):
    """GET …/tasks/{id}/output/search: lines containing `q` (any case, colours ignored)."""

    q: str = ""


class ActiveTaskOut(OutputModel):
    """A task of the global queue (GET /api/tasks, admins): the original's fields (task_id,
    project_id, username, runner_id, status, location "queue" or "running", runner_name,
    project_name), null where it leaves them out, and ours after them."""

    task_id: int
    project_id: int
    username: str | None
    runner_id: int | None
    status: str
    location: str
    runner_name: str | None
    project_name: str
    template_id: int
    template_name: str
    app: str
    created: Timestamp
    start: Timestamp | None
    waiting_reason: str | None

    @classmethod
    def of(cls, row: Any) -> dict[str, Any]:
        """An ActiveTask (services.tasks.active) as the API shows it."""
        task = row.task
        return cls.dump(
            {
                "task_id": task.id,
                "project_id": task.project_id,
                "username": row.username,
                "runner_id": task.runner_id,
                "status": task.status,
                "location": row.location,
                "runner_name": row.runner_name,
                "project_name": row.project_name,
                "template_id": task.template_id,
                "template_name": row.template_name,
                "app": row.app,
                "created": task.created,
                "start": task.start,
                "waiting_reason": row.waiting_reason,
            }
        )


ActiveTaskList = list_of(ActiveTaskOut)
