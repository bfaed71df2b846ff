"""Project backup, in the original's JSON format, and the columns a backup carries.

A backup names columns as the database does and links objects by name, never by id, so that it
can be restored into any installation. It carries no secrets: keys come back empty and must be
filled in again. The field specifications here list each object's columns for export; restore
(document.py) reads the objects not yet read through their schemas by the same lists.
"""

from __future__ import annotations

import secrets
import string as string_module
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import (
    APPS,
    INVENTORY_TYPES,
    TEMPLATE_TYPES,
    AccessKey,
    Environment,
    Integration,
    IntegrationAlias,
    IntegrationExtractValue,
    IntegrationMatcher,
    Inventory,
    Repository,
    Schedule,
    Template,
    TemplateVault,
    View,
)
from semaphore.services import validation as v
from semaphore.services.permissions import ProjectAccess
from semaphore.services.templates import environment_ids_of

MAX_TEXT = 1024 * 1024
SUFFIX_ALPHABET = string_module.ascii_lowercase + string_module.digits
SUFFIX_LENGTH = 10


# --- field specifications, shared by export and restore ---------------------------------------


@dataclass(frozen=True)
class Field:
    """One column as a backup carries it.

    kinds: str, bool, int, json_object_text (a string holding a JSON object), json_array_text
    (a string holding a JSON array of strings), object (task parameters, a JSON object stored
    as text), runner_tag (checked as the API checks it), survey (the survey variables, an
    array stored as text, which restore reads through the templates' schema).
    """

    name: str
    kind: str = "str"
    max_length: int = v.MAX_NAME
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] | None = None


def _text(name: str, **options: Any) -> Field:
    return Field(name, max_length=MAX_TEXT, **options)


META = (
    Field("name", required=True),
    Field("alert", "bool", default=False),
    Field("alert_chat", max_length=30),
    Field("max_parallel_tasks", "int", default=0),
    Field("type", max_length=32, default=""),
    Field("task_retention_days", "int"),
)
KEY = (
    Field("name", required=True),
    Field("type", required=True, choices=("none", "ssh", "login_password")),
)
ENVIRONMENT = (
    Field("name", required=True),
    Field("password"),
    _text("json", kind="json_object_text", default="{}"),
    _text("env", kind="json_object_text"),
)
VIEW = (
    Field("title", required=True),
    Field("position", "int", default=0),
    Field("hidden", "bool", default=False),
    Field("type", default="", choices=("", "all")),
    Field("sort_column", max_length=32, choices=("name",)),
    Field("sort_reverse", "bool", default=False),
)
REPOSITORY = (
    Field("name", required=True),
    _text("git_url", required=True),
    Field("git_branch", default=""),
)
INVENTORY = (
    Field("name", required=True),
    _text("inventory", default=""),
    Field("type", default="static", choices=INVENTORY_TYPES),
)
TEMPLATE = (
    Field("name", required=True),
    # pulumi is a name without an app behind it; the API refuses it too.
    Field("app", default="ansible", choices=tuple(app for app in APPS if app != "pulumi")),
    Field("playbook", max_length=1024, default=""),
    _text("arguments", kind="json_array_text"),
    Field("allow_override_args_in_task", "bool", default=False),
    Field("allow_override_branch_in_task", "bool", default=False),
    _text("description"),
    Field("type", default="", choices=TEMPLATE_TYPES),
    Field("start_version", max_length=20),
    Field("autorun", "bool", default=False),
    Field("git_branch"),
    Field("survey_vars", "survey"),
    Field("suppress_success_alerts", "bool", default=False),
    Field("task_params", "object"),
    Field("runner_tag", "runner_tag"),
    Field("max_task_duration_sec", "int"),
)
VAULT = (
    Field("name"),
    Field("type", default="password", choices=("password", "script")),
    Field("script", max_length=1024),
)
INTEGRATION = (
    Field("name", required=True),
    Field("auth_method", default="", choices=("", "none", "github", "token", "hmac")),
    Field("auth_header", default=""),
    Field("searchable", "bool", default=False),
    Field("task_params", "object"),
)
MATCHER = (
    Field("name", required=True),
    Field("match_type", required=True, choices=("header", "body")),
    Field("method", default="equals", choices=("equals", "unequals", "contains")),
    Field("body_data_type", default="", choices=("", "json", "string")),
    Field("key", default=""),
    _text("value", default=""),
)
EXTRACT_VALUE = (
    Field("name", required=True),
    Field("value_source", required=True, choices=("body", "header")),
    Field("body_data_type", default="", choices=("", "json", "string")),
    Field("key", default=""),
    Field("variable", default=""),
    Field("variable_type", default="environment", choices=("environment", "task")),
)


# --- export ----------------------------------------------------------------------------------


def _exported_value(spec: Field, value: Any) -> Any:
    """A column's value as the backup shows it (a JsonText column's value only when it has
    the kind the API gives it)."""
    if spec.kind in ("object", "survey"):
        wanted = dict if spec.kind == "object" else list
        return value if isinstance(value, wanted) else None
    return value


def _columns(row: Any, specs: Iterable[Field]) -> dict[str, Any]:
    """The row's columns by name; null values are left out, as the original does."""
    out: dict[str, Any] = {}
    for spec in specs:
        value = _exported_value(spec, getattr(row, spec.name))
        if value is not None:
            out[spec.name] = value
    return out


def _random_suffix() -> str:
    return "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))


def _unique_names(rows: list[Any], attribute: str = "name") -> dict[int, str]:
    """id -> the name the backup uses: a repeated name gets " - <10 random characters>"."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for row in rows:
        name = getattr(row, attribute) or ""
        while name in taken:
            base = (getattr(row, attribute) or "")[: v.MAX_NAME - SUFFIX_LENGTH - 3]
            name = f"{base} - {_random_suffix()}"
        taken.add(name)
        names[row.id] = name
    return names


def _rows(model: Any, project_id: int, *conditions: Any) -> list[Any]:
    query = select(model).where(model.project_id == project_id, *conditions)
    rows = list(db.session.scalars(query))
    if model is View:
        return sorted(rows, key=lambda row: (row.position, row.id))
    return sorted(rows, key=lambda row: (row.name, row.id))


def _with_refs(base: dict[str, Any], refs: Mapping[str, tuple[int | None, dict[int, str]]]) -> dict:
    """Add name references; a dangling or empty id is left out."""
    for key, (object_id, names) in refs.items():
        if object_id is not None and object_id in names:
            base[key] = names[object_id]
    return base


def _export_rows(
    rows: list[Any],
    specs: tuple[Field, ...],
    own_names: dict[int, str],
    refs: Callable[[Any], Mapping[str, tuple[int | None, dict[int, str]]]] = lambda row: {},
    *,
    attribute: str = "name",
) -> list[dict[str, Any]]:
    """Rows as backup objects, under their unique names, with their references by name."""
    return [
        _with_refs({**_columns(row, specs), attribute: own_names[row.id]}, refs(row))
        for row in rows
    ]


@dataclass
class _Names:
    keys: dict[int, str] = field(default_factory=dict)
    environments: dict[int, str] = field(default_factory=dict)
    views: dict[int, str] = field(default_factory=dict)
    repositories: dict[int, str] = field(default_factory=dict)
    inventories: dict[int, str] = field(default_factory=dict)
    templates: dict[int, str] = field(default_factory=dict)


def _export_templates(project_id: int, templates: list[Template], names: _Names) -> list[dict]:
    vaults: dict[int, list[TemplateVault]] = {}
    for vault in db.session.scalars(
        select(TemplateVault)
        .where(TemplateVault.project_id == project_id)
        .order_by(TemplateVault.id)
    ):
        vaults.setdefault(vault.template_id, []).append(vault)
    crons: dict[int, str] = {}
    for schedule in db.session.scalars(
        select(Schedule).where(Schedule.project_id == project_id).order_by(Schedule.id)
    ):
        if schedule.cron_format:
            crons.setdefault(schedule.template_id, schedule.cron_format)
    environment_lists = environment_ids_of(templates)
    out = []
    for row in templates:
        item = _columns(row, TEMPLATE)
        item["name"] = names.templates[row.id]
        _with_refs(
            item,
            {
                "inventory": (row.inventory_id, names.inventories),
                "repository": (row.repository_id, names.repositories),
                "environment": (row.environment_id, names.environments),
                "build_template": (row.build_template_id, names.templates),
                "view": (row.view_id, names.views),
            },
        )
        listed = environment_lists[row.id]
        if len(listed) > 1:
            # Ours: every environment, in order (`environment` keeps the first for the original).
            item["environments"] = [names.environments[i] for i in listed]
        item["vaults"] = [
            _with_refs(_columns(vault, VAULT), {"vault_key": (vault.vault_key_id, names.keys)})
            for vault in vaults.get(row.id, [])
        ]
        if row.id in crons:
            item["cron"] = crons[row.id]
        out.append(item)
    return out


def _export_integrations(project_id: int, names: _Names) -> tuple[list[dict], list[str]]:
    integrations = _rows(Integration, project_id)
    integration_names = _unique_names(integrations)
    children: dict[tuple[str, int], list[Any]] = {}
    for label, model in (("m", IntegrationMatcher), ("v", IntegrationExtractValue)):
        query = (
            select(model)
            .join(Integration, Integration.id == model.integration_id)
            .where(Integration.project_id == project_id)
            .order_by(model.id)
        )
        for row in db.session.scalars(query):
            children.setdefault((label, row.integration_id), []).append(row)
    aliases: dict[int | None, list[str]] = {}
    for alias in db.session.scalars(
        select(IntegrationAlias)
        .where(IntegrationAlias.project_id == project_id)
        .order_by(IntegrationAlias.id)
    ):
        aliases.setdefault(alias.integration_id, []).append(alias.alias)
    out = []
    for row in integrations:
        if row.template_id not in names.templates:
            continue
        item = _columns(row, INTEGRATION)
        item["name"] = integration_names[row.id]
        item["template"] = names.templates[row.template_id]
        _with_refs(item, {"auth_secret": (row.auth_secret_id, names.keys)})
        item["aliases"] = aliases.get(row.id, [])
        item["matchers"] = [_columns(m, MATCHER) for m in children.get(("m", row.id), [])]
        item["extract_values"] = [
            _columns(x, EXTRACT_VALUE) for x in children.get(("v", row.id), [])
        ]
        out.append(item)
    return out, aliases.get(None, [])


def export_project(access: ProjectAccess) -> dict[str, Any]:
    """The project as a backup document (any member may take one; secrets are never in it)."""
    project_id = access.project_id
    keys = _rows(AccessKey, project_id, AccessKey.environment_id.is_(None))
    environments = _rows(Environment, project_id)
    views = _rows(View, project_id)
    repositories = _rows(Repository, project_id)
    inventories = _rows(Inventory, project_id)
    templates = _rows(Template, project_id)
    names = _Names(
        keys=_unique_names(keys),
        environments=_unique_names(environments),
        views=_unique_names(views, "title"),
        repositories=_unique_names(repositories),
        inventories=_unique_names(inventories),
        templates=_unique_names(templates),
    )

    integrations, project_aliases = _export_integrations(project_id, names)
    return {
        "meta": _columns(access.project, META),
        "templates": _export_templates(project_id, templates, names),
        "repositories": _export_rows(
            repositories,
            REPOSITORY,
            names.repositories,
            lambda row: {"ssh_key": (row.ssh_key_id, names.keys)},
        ),
        "keys": _export_rows(keys, KEY, names.keys),
        # The contract's ProjectBackup names a view by `name`; the original writes `title`.
        "views": [
            {**view, "name": view["title"]}
            for view in _export_rows(views, VIEW, names.views, attribute="title")
        ],
        "inventories": _export_rows(
            inventories,
            INVENTORY,
            names.inventories,
            lambda row: {
                "ssh_key": (row.ssh_key_id, names.keys),
                "become_key": (row.become_key_id, names.keys),
            },
        ),
        "environments": _export_rows(environments, ENVIRONMENT, names.environments),
        "integrations": integrations,
        "integration_aliases": project_aliases,
    }
