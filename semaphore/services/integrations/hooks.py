"""Receiving a request on a public integration URL: choose the integrations the alias selects,
check each one's authentication and matchers, extract values, start tasks, and log the delivery.

Selection follows the original (2.16): an integration's alias selects that integration (unless
it is searchable: those answer only on project aliases); a project alias selects the project's
searchable integrations; the configured global alias every searchable integration. Through a
project or global alias an integration starts only when it has matchers and all of them match
(the original's rule: one with no matchers never fires). On its own alias its matchers, if it
has any, must match too; the original ignores them there, which its users asked to change.

The body is read once and shared by every selected integration (the original's 2.10 read it
inside the loop, so only the first integration saw it). Nothing is told to the sender; the
delivery log, kept per project, says what happened and why.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import select

from semaphore.config import current_config
from semaphore.errors import ValidationError
from semaphore.extensions import db
from semaphore.models import (
    AccessKey,
    Integration,
    IntegrationAlias,
    IntegrationExtractValue,
    IntegrationMatcher,
    Template,
)
from semaphore.schemas.tasks import FLAG_PARAMS, LIST_PARAMS
from semaphore.security.crypto import DecryptionError
from semaphore.services import keys, tasks
from semaphore.services.integrations import SECRET_METHODS, task_params
from semaphore.services.integrations import deliveries as integration_deliveries
from semaphore.services.integrations.deliveries import is_secret_header, shorten
from semaphore.services.tasks.params import run_values
from semaphore.services.validation import parse_json_text

log = logging.getLogger(__name__)

MAX_SHOWN_VALUE = 60  # characters of a value quoted in a delivery's outcome
NIL = "<nil>"  # how the original prints a JSON value that is not there
_NOT_JSON = object()


@dataclass(frozen=True)
class Incoming:
    """A received request: `body` is None when it could not be read (`note` says why)."""

    method: str
    headers: Sequence[tuple[str, str]]
    body: bytes | None
    body_size: int
    remote_addr: str
    note: str = ""

    def header(self, name: str) -> str:
        """The first value of a header, "" when absent (as Go's Header.Get)."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), "")

    @cached_property
    def text(self) -> str:
        return (self.body or b"").decode("utf-8", "replace")

    @cached_property
    def document(self) -> tuple[bool, Any]:
        """(True, the parsed JSON body), or (False, None) when the body is not JSON."""
        value = parse_json_text(self.text, default=_NOT_JSON)
        return (False, None) if value is _NOT_JSON else (True, value)


@dataclass
class Outcome:
    integration: Integration
    result: str  # started | refused | skipped | failed
    reason: str = ""
    task_id: int | None = None


@dataclass
class Selection:
    """What an alias reaches: its kind, the project it belongs to (None for the global one)."""

    kind: str  # integration | project | global
    alias: str  # "" for the global alias, which members of a project must not learn
    project_id: int | None
    integrations: list[Integration] = field(default_factory=list)


# --- the entry point ----------------------------------------------------------------------------


def receive(alias: str, incoming: Incoming) -> list[Outcome]:
    """Run every integration the alias selects on one request, and log the delivery.

    An unknown alias is only logged: there is no project to keep its record in.
    """
    selection = _select(alias)
    if selection is None:
        log.info("integration request from %s: unknown alias", incoming.remote_addr)
        return []
    outcomes = [_evaluate(i, selection, incoming) for i in selection.integrations]
    project_ids = {i.project_id for i in selection.integrations}
    if selection.project_id is not None:
        project_ids.add(selection.project_id)
    for project_id in sorted(project_ids):
        mine = [o for o in outcomes if o.integration.project_id == project_id]
        integration_deliveries.record(project_id, selection, incoming, mine)
    db.session.commit()
    return outcomes


def _select(alias: str) -> Selection | None:
    configured = current_config().global_integration_alias
    if configured and hmac.compare_digest(alias.encode(), configured.encode()):
        query = select(Integration).where(Integration.searchable.is_(True))
        rows = db.session.scalars(query.order_by(Integration.project_id, Integration.id))
        return Selection("global", "", None, list(rows))
    row = db.session.scalar(select(IntegrationAlias).where(IntegrationAlias.alias == alias))
    if row is None:
        return None
    if row.integration_id is not None:
        integration = db.session.get(Integration, row.integration_id)
        return Selection("integration", alias, row.project_id, [integration])
    query = select(Integration).where(
        Integration.project_id == row.project_id, Integration.searchable.is_(True)
    )
    rows = db.session.scalars(query.order_by(Integration.id))
    return Selection("project", alias, row.project_id, list(rows))


# --- one integration ----------------------------------------------------------------------------


def _evaluate(integration: Integration, selection: Selection, incoming: Incoming) -> Outcome:
    try:
        return _run(integration, selection, incoming)
    except Exception:  # noqa: BLE001 - one integration's failure must not stop the others
        db.session.rollback()
        log.exception("integration %s failed on a delivery", integration.id)
        return Outcome(integration, "failed", "internal error (logged on the server)")


def _run(integration: Integration, selection: Selection, incoming: Incoming) -> Outcome:
    if incoming.body is None:
        return Outcome(integration, "skipped", incoming.note)
    if selection.kind == "integration" and integration.searchable:
        return Outcome(
            integration,
            "skipped",
            "a searchable integration answers only on project aliases, not on its own",
        )
    refusal = _authenticate(integration, incoming)
    if refusal:
        return Outcome(integration, "refused", f"authentication failed: {refusal}")
    matchers = _rows(IntegrationMatcher, integration.id)
    if not matchers and selection.kind != "integration":
        return Outcome(
            integration,
            "skipped",
            "no matchers: an integration reached through a project alias needs at least one",
        )
    for number, matcher in enumerate(matchers, 1):
        mismatch = _mismatch(matcher, incoming)
        if mismatch:
            return Outcome(
                integration,
                "skipped",
                f"matcher {number} ({describe_matcher(matcher)}) did not match: {mismatch}",
            )
    return _start(integration, incoming)


def _rows(model: type, integration_id: int) -> list:
    query = select(model).where(model.integration_id == integration_id).order_by(model.id)
    return list(db.session.scalars(query))


def _start(integration: Integration, incoming: Incoming) -> Outcome:
    values = _task_values(integration, incoming)
    template = db.session.get(Template, integration.template_id)
    try:
        task = tasks.start_automated_task(template, integration_id=integration.id, **values)
    except ValidationError as exc:
        db.session.rollback()
        return Outcome(integration, "failed", f"the task was not started: {exc.message}")
    return Outcome(integration, "started", "", task.id)


# --- authentication -----------------------------------------------------------------------------


def _authenticate(integration: Integration, incoming: Incoming) -> str:
    """Why the request fails the integration's authentication, or "" when it passes."""
    method = integration.auth_method
    if method in ("", "none"):
        return ""
    if method not in SECRET_METHODS:
        return f"unknown authentication method {method!r}"
    login, secret = _secret(integration)
    if not secret:
        # The original would compare against an empty secret; an empty token then matches a
        # request that sends none.
        return "the integration's secret key has no password"
    if method == "basic":
        return _basic(incoming, login, secret)
    if method == "token":
        return _token(incoming, integration.auth_header, secret)
    header, prefix = {
        "github": ("X-Hub-Signature-256", "sha256="),
        "bitbucket": ("X-Hub-Signature", "sha256="),
        "hmac": (integration.auth_header, ""),
    }[method]
    return _signature(incoming, header, prefix, secret)


def _secret(integration: Integration) -> tuple[str, str]:
    """The login and password of the integration's login_password key ("" when missing)."""
    if integration.auth_secret_id is None:
        return "", ""
    key = db.session.get(AccessKey, integration.auth_secret_id)
    if key is None:
        return "", ""
    try:
        secret = keys.read_secret(key)
    except DecryptionError:
        log.warning("integration %s: its secret key cannot be decrypted", integration.id)
        return "", ""
    return secret.login, secret.password


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _signature(incoming: Incoming, header: str, prefix: str, secret: str) -> str:
    given = incoming.header(header)
    if not given:
        return f"no {header} header"
    digest = hmac.new(secret.encode(), incoming.body or b"", hashlib.sha256).hexdigest()
    if not given.startswith(prefix) or not _equal(given[len(prefix) :], digest):
        return f"bad signature in {header}"
    return ""


def _token(incoming: Incoming, header: str, secret: str) -> str:
    given = incoming.header(header)
    if not given:
        return f"no {header} header"
    return "" if _equal(given, secret) else f"wrong token in {header}"


def _basic(incoming: Incoming, login: str, secret: str) -> str:
    scheme, _, encoded = incoming.header("Authorization").partition(" ")
    if scheme.lower() != "basic":
        return "no basic Authorization header"
    try:
        given_login, colon, given_password = (
            base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        )
    except (binascii.Error, ValueError):
        return "malformed basic Authorization header"
    # Both compared whatever the first gives, so timing tells nothing about which one differs.
    login_ok = _equal(given_login, login)
    password_ok = _equal(given_password, secret)
    return "" if colon and login_ok and password_ok else "wrong basic auth login or password"


# --- matchers and extracted values --------------------------------------------------------------


def describe_matcher(matcher: IntegrationMatcher) -> str:
    """Where a matcher looks and what it wants, e.g. `header X-GitHub-Event equals "push"`."""
    if matcher.match_type == "header":
        where = f"header {matcher.key}"
    elif matcher.body_data_type == "string":
        where = "body"
    else:
        where = f"body {matcher.body_data_type} {matcher.key}"
    return f'{where} {matcher.method} "{shorten(matcher.value, MAX_SHOWN_VALUE)}"'


def _mismatch(matcher: IntegrationMatcher, incoming: Incoming) -> str:
    """Why the matcher does not match, or "" when it does."""
    if matcher.match_type == "header":
        value = incoming.header(matcher.key)
        shown = "a value not shown" if is_secret_header(matcher.key) else _quoted(value)
    elif matcher.match_type == "body" and matcher.body_data_type == "json":
        parsed, document = incoming.document
        if not parsed:
            value = NIL
            shown = "the body is not JSON"
        else:
            value = _stringify(_find(document, matcher.key))
            shown = _quoted(value)
    elif matcher.match_type == "body" and matcher.body_data_type == "string":
        value = incoming.text
        shown = "the body"
    else:
        return f"{matcher.body_data_type or matcher.match_type} bodies are not supported"
    if _compare(value, matcher.method, matcher.value):
        return ""
    return f"got {shown}"


def _quoted(value: str) -> str:
    return repr(shorten(value, MAX_SHOWN_VALUE))


def _compare(value: str, method: str, expected: str) -> bool:
    if method == "equals":
        return value == expected
    if method == "unequals":
        return value != expected
    if method == "contains":
        return expected in value
    return False


def _find(document: Any, path: str) -> Any:
    """The value at a dot path ("pull_request.head.ref", "commits.[0].id"), None if absent."""
    value = document
    for part in path.split("."):
        index = part[1:-1] if part.startswith("[") and part.endswith("]") else part
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and index.isdigit() and int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


def _stringify(value: Any) -> str:
    """A JSON value as text, as the original prints it (whole numbers without ".0")."""
    if value is None:
        return NIL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _extracted(value: IntegrationExtractValue, incoming: Incoming) -> tuple[bool, Any]:
    """(found, value) of one extracted value; JSON values keep their type."""
    if value.value_source == "header":
        return True, incoming.header(value.key)
    if value.body_data_type == "string":
        return True, incoming.text
    if value.body_data_type == "json":
        parsed, document = incoming.document
        found = _find(document, value.key) if parsed else None
        return found is not None, found
    return False, None


def _task_values(integration: Integration, incoming: Incoming) -> dict[str, Any]:
    """start_automated_task's arguments: the integration's task_params (malformed ones left
    out), then the values extracted from the request, which win (as in the original's 2.16)."""
    chosen = run_values(task_params(integration))
    environment = dict(chosen.get("environment") or {})
    params = chosen.get("params")
    for value in _rows(IntegrationExtractValue, integration.id):
        found, extracted = _extracted(value, incoming)
        if not found:
            continue
        if value.variable_type == "task":
            params = params if params is not None else {}
            params[value.variable] = _param(value.variable, extracted)
        else:
            environment[value.variable] = _stringify(extracted)
    chosen.update(environment=environment, params=params)
    return chosen


def _param(name: str, value: Any) -> Any:
    """Header and text values arrive as strings: flags and lists take them in their own shape."""
    if isinstance(value, str) and name in FLAG_PARAMS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, str) and name in LIST_PARAMS:
        return [value] if value else []
    return value
