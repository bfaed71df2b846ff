"""What the property-based contract run needs: the patched contract, the operations in scope,
a seeded project, and a check that applies tests/contract.py's rules to every response.

Kept apart from the test module so that collection stays cheap: the contract is read once and
schemathesis is loaded only when a fuzz test runs.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from typing import Any

import yaml

from semaphore.extensions import db
from semaphore.models import ProjectUser, User
from semaphore.services import integrations, keys
from semaphore.services.auth import api_tokens
from semaphore.services.permissions import ProjectAccess
from tests import factories
from tests.contract import CONTRACT_PATH, NULLABLE_FIELDS, fix_backup_schema, validate_response

# Sub-resources of /project/{project_id} that are implemented so far.
PROJECT_RESOURCES = (
    "role",
    "users",
    "keys",
    "repositories",
    "inventory",
    "environment",
    "templates",
    "views",
    "schedules",
    "events",
    "backup",
    "integrations",
)
_IN_SCOPE = re.compile(
    r"^/(users|user|projects|events|apps)(/|$)"
    r"|^/project/\{project_id\}/?$"
    rf"|^/project/\{{project_id\}}/({'|'.join(PROJECT_RESOURCES)})(/|$)"
)
# Paths with these words are not implemented yet (or, like logout, would end the session).
_OUT_OF_SCOPE = re.compile(r"tasks|runners?|/ws|oidc|notifications|auth/logout")
# Deleting the seeded project or user would leave nothing for the other examples to hit.
_DESTRUCTIVE = {("DELETE", "/project/{project_id}/"), ("DELETE", "/users/{user_id}/")}
_METHODS = ("get", "post", "put", "delete", "patch")


@functools.cache
def patched_spec() -> dict[str, Any]:
    """The contract with the same corrections tests/contract.py applies (nullable fields, the
    ProjectBackup fixes), in its raw Swagger form for schemathesis."""
    spec = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    for name, fields in NULLABLE_FIELDS.items():
        properties = spec["definitions"][name].setdefault("properties", {})
        for field in fields:
            properties.setdefault(field, {})["x-nullable"] = True
    fix_backup_schema(spec)
    return spec


@functools.cache
def schema() -> Any:
    """The patched contract loaded by schemathesis (imported here: it is slow to import)."""
    import schemathesis

    return schemathesis.openapi.from_dict(copy.deepcopy(patched_spec()))


def operations_in_scope() -> list[tuple[str, str]]:
    """(METHOD, path) of every contract operation the fuzz run drives."""
    found = []
    for path, item in patched_spec()["paths"].items():
        if not _IN_SCOPE.search(path) or _OUT_OF_SCOPE.search(path):
            continue
        for method in _METHODS:
            if method in item and (method.upper(), path) not in _DESTRUCTIVE:
                found.append((method.upper(), path))
    return found


@dataclass(frozen=True)
class Seed:
    """The admin's token and the ids path parameters should point at."""

    token: str
    path_parameters: dict[str, Any]


def seed(admin: User) -> Seed:
    """One project owned by the admin, with one of each resource and a second member."""
    project = factories.project(members={admin: "owner"})
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role="manager"))
    db.session.commit()
    access = ProjectAccess(project, admin, "owner")
    key = keys.create_key(
        access,
        {"name": "login", "type": "login_password", "login_password": {"password": "pw"}},
    )
    repository = factories.repository(project=project, ssh_key_id=key.id)
    inventory = factories.inventory(project=project, ssh_key_id=key.id)
    environment = factories.environment(project=project, json='{"a": "b"}')
    view = factories.view(project=project)
    template = factories.template(
        project=project,
        repository_id=repository.id,
        inventory_id=inventory.id,
        environment_id=environment.id,
        view_id=view.id,
    )
    schedule = factories.schedule(project=project, template_id=template.id)
    hook = integrations.create_integration(
        access,
        {
            "name": "hook",
            "template_id": template.id,
            "auth_method": "github",
            "auth_secret_id": key.id,
        },
    )
    matcher = integrations.create_matcher(
        access, hook.id, {"name": "m", "match_type": "header", "key": "X-Event", "value": "push"}
    )
    value = integrations.create_value(
        access, hook.id, {"name": "v", "value_source": "header", "key": "X-Ref", "variable": "REF"}
    )
    alias = integrations.create_alias(access, hook.id)
    spare_token, _ = api_tokens.create_token(admin)
    return Seed(
        token=factories.api_token(admin),
        path_parameters={
            "project_id": project.id,
            "user_id": member.id,
            "key_id": key.id,
            "repository_id": repository.id,
            "inventory_id": inventory.id,
            "environment_id": environment.id,
            "template_id": template.id,
            "view_id": view.id,
            "schedule_id": schedule.id,
            "api_token_id": spare_token.id,
            "integration_id": hook.id,
            "matcher_id": matcher.id,
            "extractvalue_id": value.id,
            "alias_id": alias.id,
        },
    )


# Body fields that name objects, and the seeded object each should name.
_BODY_REFERENCES = {
    "project_id": "project_id",
    "user_id": "user_id",
    "ssh_key_id": "key_id",
    "become_key_id": "key_id",
    "vault_key_id": "key_id",
    "repository_id": "repository_id",
    "inventory_id": "inventory_id",
    "environment_id": "environment_id",
    "template_id": "template_id",
    "build_template_id": "template_id",
    "view_id": "view_id",
    "auth_secret_id": "key_id",
    "integration_id": "integration_id",
}


def _resolve(node: Any) -> dict[str, Any]:
    """A body schema with $ref and allOf flattened into one object's properties."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        return _resolve(patched_spec()["definitions"][ref.rsplit("/", 1)[1]])
    properties = dict(node.get("properties", {}))
    example = dict(node["example"]) if isinstance(node.get("example"), dict) else {}
    for part in node.get("allOf", []):
        resolved = _resolve(part)
        properties.update(resolved["properties"])
        example.update(resolved["example"])
    return {"properties": properties, "example": example}


@functools.cache
def body_fields(method: str, path: str) -> tuple[frozenset[str], dict[str, Any]]:
    """The properties of the operation's body and the contract's example value for each."""
    item = patched_spec()["paths"][path]
    parameters = item.get("parameters", []) + item[method.lower()].get("parameters", [])
    names: set[str] = set()
    examples: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.get("in") == "body":
            resolved = _resolve(parameter.get("schema"))
            examples.update(resolved.get("example", {}))
            for name, schema in resolved.get("properties", {}).items():
                names.add(name)
                if isinstance(schema, dict) and "example" in schema:
                    examples[name] = schema["example"]
    return frozenset(names), examples


def align_body(case: Any, seeded: Seed, method: str, path: str) -> None:
    """Complete a generated body with the contract's examples and point its ids at the seeded
    objects, so that requests get past "name is required" and "ID in body and URL must be the
    same" to the logic behind them."""
    if not isinstance(case.body, dict):
        return
    names, examples = body_fields(method, path)
    for name, example in examples.items():
        case.body.setdefault(name, example)
    for field, target in _BODY_REFERENCES.items():
        if field in case.body or field in names:
            case.body[field] = seeded.path_parameters[target]
    own = re.findall(r"\{(\w+)\}", path)
    if "id" in case.body and own:
        case.body["id"] = seeded.path_parameters.get(own[-1], case.body["id"])


def repository_contract_check(ctx: Any, response: Any, case: Any) -> bool:
    """tests/contract.py's rules: documented 2xx statuses and bodies, {"error"} for errors."""
    path = "/" + response.request.url.split("/api/", 1)[1]
    content_type = (response.headers.get("content-type") or [""])[0]
    validate_response(case.method, path, response.status_code, response.content, content_type)
    return True
