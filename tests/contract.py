"""Validate API responses against the original's contract (tests/contract/semaphore-api-docs.yml).

`ContractClient` wraps Flask's test client: every response it sees is checked.
- A documented operation answering 2xx must use a status the contract lists for it, and its JSON
  body must match that response's schema.
- Every 4xx/5xx answer from /api must be JSON `{"error": "<message>"}`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

CONTRACT_PATH = Path(__file__).parent / "contract" / "semaphore-api-docs.yml"
CONTRACT_URI = "urn:semaphore-contract"

# Fields the original returns as null although the contract does not say x-nullable
# (REFERENCE.md marks them with *). Keyed by definition name.
NULLABLE_FIELDS: dict[str, set[str]] = {
    "Template": {
        "inventory_id",
        "repository_id",
        "environment_id",
        "view_id",
        "build_template_id",
        "arguments",
        "description",
        "start_version",
        "git_branch",
        "task_params",
        "survey_vars",
        "vaults",
    },
    "TemplateVault": {"vault_key_id", "name", "script"},
    "Inventory": {"ssh_key_id", "become_key_id", "repository_id"},
    "Environment": {"password", "env", "secrets"},
    "Task": {"arguments", "git_branch", "inventory_id", "params"},
    "Schedule": {"run_at", "task_params"},
    "Event": {"project_id", "user_id", "object_id", "object_type", "description"},
    "Integration": {"task_params"},
    "Project": {"alert_chat"},
    "Runner": {"project_id", "tags", "touched", "cleaning_requested"},
}

# Success statuses the original answers but the contract leaves undocumented, keyed by
# (method, contract path). The 2.16.14 contract comments out the 204 of the test notification
# although the original's SendTestNotification (api/projects/project.go) answers it.
UNDOCUMENTED_STATUSES: dict[tuple[str, str], set[int]] = {
    ("post", "/project/{project_id}/notifications/test"): {204},
}


class ContractViolation(AssertionError):
    pass


def fix_backup_schema(spec: dict[str, Any]) -> None:
    """Correct the ProjectBackup definition where REFERENCE.md §12 says the contract is wrong.

    The original's backups carry survey_vars and vaults as arrays and name views by `title`;
    its inventory `type` enum also forgets terraform-workspace, which backups do contain.
    """
    properties = spec["definitions"]["ProjectBackup"]["properties"]
    template = properties["templates"]["items"]["properties"]
    template["survey_vars"] = {"type": "array", "items": {"type": "object"}}
    template["vaults"] = {"type": "array", "items": {"type": "object"}}
    properties["views"]["items"]["properties"]["title"] = {"type": "string"}
    inventory_type = properties["inventories"]["items"]["properties"]["type"]
    inventory_type["enum"] = [*inventory_type["enum"], "terraform-workspace"]


def add_survey_types(spec: dict[str, Any]) -> None:
    """Survey variables take more types than the contract lists (README, "Where we deliberately
    differ"): the original's later text and select, and our boolean."""
    survey_type = spec["definitions"]["TemplateSurveyVar"]["properties"]["type"]
    survey_type["enum"] = [*survey_type["enum"], "text", "select", "boolean"]


@functools.cache
def contract() -> dict[str, Any]:
    spec = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    for name, fields in NULLABLE_FIELDS.items():
        properties = spec["definitions"][name].setdefault("properties", {})
        for field in fields:
            properties.setdefault(field, {})["x-nullable"] = True
    fix_backup_schema(spec)
    add_survey_types(spec)
    return _prepare(spec)


def _prepare(node: Any) -> Any:
    """Point refs at the registered document and turn x-nullable into a JSON-schema null type."""
    if isinstance(node, list):
        return [_prepare(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _prepare(value) for key, value in node.items()}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node["$ref"] = CONTRACT_URI + ref
    if node.get("x-nullable"):
        if "type" in node:
            types = node["type"] if isinstance(node["type"], list) else [node["type"]]
            node["type"] = [*types, "null"]
        elif "$ref" in node or "allOf" in node:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(CONTRACT_URI, Resource(contract(), specification=DRAFT4))


@functools.cache
def _operations() -> list[tuple[re.Pattern[str], str, int]]:
    patterns = []
    for path in contract()["paths"]:
        template = path.rstrip("/") or "/"
        regex = re.sub(
            r"\{[^}]+\}", r"[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
        )
        patterns.append((re.compile(f"^{regex}$"), path, template.count("{")))
    # Literal segments win over parameters (/integrations/aliases before /integrations/{id}).
    return sorted(patterns, key=lambda item: item[2])


def find_operation(method: str, api_path: str) -> tuple[str, dict[str, Any]] | None:
    """The contract's (path, operation) for a request path under /api, or None."""
    path = api_path.split("?", 1)[0].rstrip("/") or "/"
    for pattern, spec_path, _ in _operations():
        if pattern.match(path):
            operation = contract()["paths"][spec_path].get(method.lower())
            if operation is not None:
                return spec_path, operation
    return None


def validate_response(
    method: str, api_path: str, status: int, body: bytes, content_type: str
) -> None:
    """Raise ContractViolation when the response breaks the contract or the error shape."""
    if status >= 400:
        _check_error_shape(method, api_path, status, body, content_type)
        return
    method = "get" if method.upper() == "HEAD" else method
    found = find_operation(method, api_path)
    if found is None or method.upper() == "HEAD":
        return
    spec_path, operation = found
    responses = operation.get("responses", {})
    documented = {int(code) for code in responses if str(code).isdigit()}
    documented |= UNDOCUMENTED_STATUSES.get((method.lower(), spec_path), set())
    if 200 <= status < 300 and status not in documented:
        raise ContractViolation(
            f"{method.upper()} {spec_path} answered {status}; "
            f"the contract lists {sorted(documented)}"
        )
    schema = responses.get(status, responses.get(str(status), {})).get("schema")
    if schema is None or "json" not in content_type:
        return
    _validate(schema, json.loads(body), f"{method.upper()} {api_path} -> {status}")


def _validate(schema: dict[str, Any], instance: Any, where: str) -> None:
    schema = copy.deepcopy(schema)
    validator = Draft4Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        details = "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
        raise ContractViolation(f"{where} does not match the contract: {details}")


def validate_definition(name: str, instance: Any) -> None:
    """Validate an object against one of the contract's definitions."""
    _validate({"$ref": f"{CONTRACT_URI}#/definitions/{name}"}, instance, name)


def _check_error_shape(
    method: str, api_path: str, status: int, body: bytes, content_type: str
) -> None:
    where = f"{method.upper()} {api_path} -> {status}"
    if "json" not in content_type:
        raise ContractViolation(f"{where}: error answered with {content_type!r}, not JSON")
    try:
        payload = json.loads(body)
    except ValueError:
        raise ContractViolation(f"{where}: error body is not JSON: {body[:200]!r}") from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("error"), str)
        or not payload["error"]
    ):
        raise ContractViolation(f"{where}: error body lacks a message: {payload!r}")


def request_in_own_context(client, path: str, **kwargs: Any):
    """Send a test request in a fresh app context, as a real server would.

    The `app` fixture keeps a context open for factories and assertions; without a fresh one
    per request, `g` (where Flask-Login caches the current user) and the database session
    would leak from one request into the next. The test's own session is expired afterwards
    so that assertions read what the request wrote.
    """
    from semaphore.extensions import db

    with client.application.app_context():
        response = client.open(path, **kwargs)
    db.session.expire_all()
    return response


# Every secret any test has sent through a ContractClient, in this process. No response of the
# suite may contain one of them (issue 4: secrets go in, never out).
SECRET_FIELDS = {"private_key", "passphrase", "password", "secret"}
# Shorter values ("secret", "pw") are words that JSON field names contain.
MIN_SECRET_LENGTH = 8
_stored_secrets: set[str] = set()


def _collect_secrets(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SECRET_FIELDS and isinstance(value, str):
                for part in [value, *value.splitlines()]:
                    part = part.strip()
                    if len(part) >= MIN_SECRET_LENGTH and not part.startswith("-----"):
                        _stored_secrets.add(part)
            else:
                _collect_secrets(value)
    elif isinstance(node, list):
        for item in node:
            _collect_secrets(item)


def check_no_stored_secret(method: str, path: str, body: bytes) -> None:
    """Raise ContractViolation when a response shows a secret a test has stored."""
    text = body.decode("utf-8", errors="replace")
    for secret in _stored_secrets:
        if secret in text:
            raise ContractViolation(f"{method} {path} returned a stored secret: {secret[:12]}…")


class ContractClient:
    """A Flask test client whose every /api response is checked against the contract.

    Secrets sent in request bodies are remembered, and no later response may contain them.
    """

    def __init__(self, client, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = dict(headers or {})

    def with_headers(self, **headers: str) -> ContractClient:
        return ContractClient(self.client, {**self.headers, **headers})

    def open(self, method: str, path: str, **kwargs: Any):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        _collect_secrets(kwargs.get("json"))
        response = request_in_own_context(
            self.client, path, method=method, headers=headers, **kwargs
        )
        if path.startswith("/api/"):
            validate_response(
                method,
                path[len("/api") :],
                response.status_code,
                response.get_data(),
                response.content_type or "",
            )
            check_no_stored_secret(method, path, response.get_data())
        return response

    def get(self, path: str, **kwargs: Any):
        return self.open("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any):
        return self.open("HEAD", path, **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.open("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any):
        return self.open("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.open("DELETE", path, **kwargs)
