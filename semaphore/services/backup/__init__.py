"""Project backup and restore, in the original's JSON format.

A backup names columns as the database does and links objects by name, never by id, so that it
can be restored into any installation. It carries no secrets: keys come back empty and must be
filled in again. Restore checks the whole document before it writes anything, then writes every
row in one transaction, so a bad backup leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import secrets
import string as string_module
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from semaphore.errors import ValidationError
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
    Project,
    ProjectUser,
    Repository,
    Schedule,
    Template,
    TemplateEnvironment,
    TemplateVault,
    User,
    View,
)
from semaphore.services import events
from semaphore.services import validation as v
from semaphore.services.permissions import ProjectAccess
from semaphore.services.schedules.cron import parse_cron
from semaphore.services.templates import environment_ids_of

# A backup is at most the 16 MiB request body; this bounds each list so that a hostile document
# cannot make one restore insert millions of rows.
MAX_ITEMS = 10_000
MAX_TEXT = 1024 * 1024
SUFFIX_ALPHABET = string_module.ascii_lowercase + string_module.digits
SUFFIX_LENGTH = 10
ALIAS_RE = re.compile(r"^[a-z0-9]{1,32}$")


# --- field specifications, shared by export and restore ---------------------------------------


@dataclass(frozen=True)
class Field:
    """One column as a backup carries it.

    kinds: str, bool, int, json_object_text (a string holding a JSON object), json_array_text
    (a string holding a JSON array of strings), object (a JSON object stored as text), survey
    (the survey variables, an array stored as text).
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
SURVEY_VAR = (
    Field("name"),
    Field("title"),
    _text("description"),
    Field("type", choices=("", "int", "enum", "secret")),
    Field("required", "bool"),
)
SURVEY_VALUE = (Field("name"), _text("value"))


# --- export ----------------------------------------------------------------------------------


def _exported_value(spec: Field, value: Any) -> Any:
    """A column's value as the backup shows it (JSON-in-text columns become JSON)."""
    if spec.kind in ("object", "survey") and isinstance(value, str):
        parsed = v.parse_json_text(value, default=None)
        wanted = dict if spec.kind == "object" else list
        return parsed if isinstance(parsed, wanted) else None
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


# --- reading a backup document ---------------------------------------------------------------


class _Located(ValidationError):
    """A problem at a place in the document: "error at templates[3].vaults[0]: …"."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"error at {where}: {problem}", where)
        self.where = where
        self.problem = problem


@contextmanager
def _at(where: str) -> Iterator[None]:
    """Prefix validation errors with their place in the document, as the original does."""
    try:
        yield
    except _Located as exc:
        raise _Located(f"{where}.{exc.where}", exc.problem) from None
    except ValidationError as exc:
        raise _Located(where, exc.message) from None


def _storable(text: str) -> bool:
    """False for NUL characters and lone surrogates (JSON escapes can carry both), which
    PostgreSQL or the UTF-8 encoder would refuse with a server error."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string(data: Mapping[str, Any], name: str, **options: Any) -> str | None:
    """A string field, kept exactly as given (no stripping), and storable."""
    value = v.string(data, name, strip=False, **options)
    if value is not None and not _storable(value):
        raise ValidationError(f"{name} contains characters that cannot be stored", name)
    return value


def _json_text(data: Mapping[str, Any], spec: Field) -> str | None:
    value = _string(data, spec.name, max_length=spec.max_length)
    if value is None:
        return spec.default
    if spec.kind == "json_array_text" and not value.strip():
        return None
    parsed = v.parse_json_text(value, spec.name)
    if spec.kind == "json_object_text" and not isinstance(parsed, dict):
        raise ValidationError(f"{spec.name} must be a JSON object", spec.name)
    if spec.kind == "json_array_text" and not (
        isinstance(parsed, list) and all(isinstance(item, str) for item in parsed)
    ):
        raise ValidationError(f"{spec.name} must be a JSON array of strings", spec.name)
    return value


def _object(data: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = data.get(name)
    if value is not None and not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be an object", name)
    return value


def _survey(data: Mapping[str, Any], name: str) -> str | None:
    items = _list(data, name, required=False)
    if items is None:
        return None
    cleaned = []
    for i, item in enumerate(items):
        with _at(f"{name}[{i}]"):
            var = _read(_item(item), SURVEY_VAR, keep_missing=False)
            values = _list(item, "values", required=False)
            if values is not None:
                var["values"] = [
                    _read(_item(value), SURVEY_VALUE, keep_missing=False) for value in values
                ]
        cleaned.append(var)
    return json.dumps(cleaned)


# The typed fields of the contract's TaskPrams (other keys are kept as they are).
TASK_PARAMS = (Field("environment"), Field("git_branch"), Field("message"), Field("arguments"))
TASK_PARAMS_FLAGS = ("debug", "dry_run", "diff", "plan", "destroy", "auto_approve", "upgrade")
TASK_PARAMS_LISTS = ("limit", "tags", "skip_tags")


def _check_task_params(value: Mapping[str, Any]) -> None:
    """Refuse task_params whose known fields have the wrong type: the API would echo them
    back in a shape the contract does not allow."""
    with _at("task_params"):
        for spec in TASK_PARAMS:
            v.string(value, spec.name, max_length=MAX_TEXT, strip=False)
        params = _object(value, "params") or {}
        for flag in TASK_PARAMS_FLAGS:
            v.boolean(params, flag)
        for name in TASK_PARAMS_LISTS:
            items = params.get(name)
            if items is not None and not (
                isinstance(items, list) and all(isinstance(item, str) for item in items)
            ):
                raise ValidationError(f"params.{name} must be an array of strings", name)


def _value(data: Mapping[str, Any], spec: Field) -> Any:
    """One field of a backup object, type-checked (ValidationError names the field)."""
    if spec.kind == "bool":
        return v.boolean(data, spec.name, default=spec.default)
    if spec.kind == "int":
        number = data.get(spec.name)
        if isinstance(number, float) and not math.isfinite(number):
            raise ValidationError(f"{spec.name} must be an integer", spec.name)
        return v.integer(data, spec.name, default=spec.default, minimum=0)
    if spec.kind in ("json_object_text", "json_array_text"):
        return _json_text(data, spec)
    if spec.kind == "object":
        value = _object(data, spec.name)
        if value is None:
            return None
        _check_task_params(value)
        try:
            return json.dumps(value, allow_nan=False)
        except ValueError:
            raise ValidationError(f"{spec.name} must not hold NaN or Infinity", spec.name) from None
    if spec.kind == "survey":
        return _survey(data, spec.name)
    value = _string(
        data, spec.name, required=spec.required, default=spec.default, max_length=spec.max_length
    )
    if spec.choices is not None and value is not None and value not in spec.choices:
        raise ValidationError(f"{spec.name} must be one of: {', '.join(spec.choices)}", spec.name)
    return value


def _read(
    data: Mapping[str, Any], specs: Iterable[Field], *, keep_missing: bool = True
) -> dict[str, Any]:
    """The columns of a backup object; absent fields take their defaults (or stay absent)."""
    return {
        spec.name: _value(data, spec)
        for spec in specs
        if keep_missing or data.get(spec.name) is not None
    }


def _item(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError("must be an object")
    return value


def _list(data: Mapping[str, Any], name: str, *, required: bool = False) -> list[Any] | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ValidationError(f"{name} is required", name)
        return None
    if not isinstance(value, list):
        raise ValidationError(f"{name} must be an array", name)
    if len(value) > MAX_ITEMS:
        raise ValidationError(f"{name} has more than {MAX_ITEMS} items", name)
    return value


def _ref(data: Mapping[str, Any], name: str, known: Mapping[str, Any], where: str) -> str | None:
    """A name reference, which must name an object of the document."""
    value = _string(data, name)
    if value is not None and value not in known:
        raise ValidationError(f"{name} does not exist in {where}[].name", name)
    return value


@dataclass
class _Entry:
    """A validated backup object: its columns and the names it refers to."""

    columns: dict[str, Any]
    refs: dict[str, str | None] = field(default_factory=dict)
    children: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Document:
    meta: dict[str, Any]
    sections: dict[str, list[_Entry]]
    project_aliases: list[str]


def _section(
    document: Mapping[str, Any],
    name: str,
    reader: Callable[[Mapping[str, Any]], _Entry],
    *,
    unique_by: str | None = "name",
) -> list[_Entry]:
    """Read every object of a top-level list, refusing duplicate names."""
    items = _list(document, name) or []
    entries: list[_Entry] = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        with _at(f"{name}[{i}]"):
            entry = reader(_item(raw))
            if unique_by is not None:
                key = entry.columns[unique_by]
                if key in seen:
                    raise ValidationError(f"{key} is duplicate")
                seen.add(key)
        entries.append(entry)
    return entries


def _names(entries: list[_Entry], attribute: str = "name") -> dict[str, _Entry]:
    return {entry.columns[attribute]: entry for entry in entries}


def _aliases(data: Mapping[str, Any], name: str) -> list[str]:
    items = _list(data, name) or []
    for i, alias in enumerate(items):
        if not isinstance(alias, str):
            raise ValidationError(f"{name}[{i}] must be a string", name)
    return items


def _template_reader(doc_names: dict[str, dict[str, _Entry]]) -> Callable:
    def read(data: Mapping[str, Any]) -> _Entry:
        entry = _Entry(_read(data, TEMPLATE))
        refs = entry.refs
        refs["repository"] = _ref(data, "repository", doc_names["repositories"], "repositories")
        if refs["repository"] is None:
            raise ValidationError("repository does not exist in repositories[].name", "repository")
        refs["inventory"] = _ref(data, "inventory", doc_names["inventories"], "inventories")
        refs["environment"] = _ref(data, "environment", doc_names["environments"], "environments")
        listed = []
        for i, name in enumerate(_list(data, "environments") or []):
            field_name = f"environments[{i}]"
            listed.append(
                _ref({field_name: name}, field_name, doc_names["environments"], "environments")
            )
        if len(set(listed)) != len(listed):
            raise ValidationError("environments lists an environment twice", "environments")
        if listed:
            refs["environment"] = listed[0]
        entry.children["environments"] = listed
        refs["view"] = _ref(data, "view", doc_names["views"], "views")
        refs["build_template"] = _string(data, "build_template")
        vaults = []
        for i, raw in enumerate(_list(data, "vaults") or []):
            with _at(f"vaults[{i}]"):
                vault = _item(raw)
                key = _ref(vault, "vault_key", doc_names["keys"], "keys")
                vaults.append((_read(vault, VAULT), key))
        legacy_key = _ref(data, "vault_key", doc_names["keys"], "keys")
        if legacy_key is not None and not vaults:
            vaults.append(({"name": None, "type": "password", "script": None}, legacy_key))
        entry.children["vaults"] = vaults
        cron = _string(data, "cron")
        if cron is not None:
            try:
                parse_cron(cron)
            except ValueError as exc:
                raise ValidationError(f"cron is invalid: {exc}", "cron") from None
        entry.children["cron"] = cron
        return entry

    return read


def _check_build_templates(templates: list[_Entry]) -> None:
    by_name = _names(templates)
    for i, entry in enumerate(templates):
        build = entry.refs["build_template"]
        if entry.columns["type"] != "deploy":
            entry.refs["build_template"] = None
            continue
        with _at(f"templates[{i}]"):
            if build is None or build not in by_name:
                raise ValidationError(
                    "deploy is build but build_template does not exist in templates[].name"
                )
            if by_name[build].columns["type"] == "deploy":
                raise ValidationError("build_template must not be a deploy template")


def _integration_reader(doc_names: dict[str, dict[str, _Entry]]) -> Callable:
    def read(data: Mapping[str, Any]) -> _Entry:
        entry = _Entry(_read(data, INTEGRATION))
        entry.refs["template"] = _ref(data, "template", doc_names["templates"], "templates")
        if entry.refs["template"] is None:
            raise ValidationError("template does not exist in templates[].name", "template")
        entry.refs["auth_secret"] = _ref(data, "auth_secret", doc_names["keys"], "keys")
        entry.children["aliases"] = _aliases(data, "aliases")
        for name, specs in (("matchers", MATCHER), ("extract_values", EXTRACT_VALUE)):
            rows = []
            for i, raw in enumerate(_list(data, name) or []):
                with _at(f"{name}[{i}]"):
                    rows.append(_read(_item(raw), specs))
            entry.children[name] = rows
        return entry

    return read


def _view_reader(data: Mapping[str, Any]) -> _Entry:
    """A view, named by `title` (the original's backups) or `name` (the contract's)."""
    if data.get("title") is None and data.get("name") is not None:
        data = {**data, "title": data["name"]}
    return _Entry(_read(data, VIEW))


def _plain(specs: tuple[Field, ...]) -> Callable[[Mapping[str, Any]], _Entry]:
    return lambda data: _Entry(_read(data, specs))


def _key_ref_reader(
    specs: tuple[Field, ...], key_fields: tuple[str, ...], keys: Mapping[str, Any]
) -> Callable[[Mapping[str, Any]], _Entry]:
    def read(data: Mapping[str, Any]) -> _Entry:
        entry = _Entry(_read(data, specs))
        for name in key_fields:
            entry.refs[name] = _ref(data, name, keys, "keys")
        return entry

    return read


def _inventory_reader(keys: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], _Entry]:
    base = _key_ref_reader(INVENTORY, ("ssh_key", "become_key"), keys)

    def read(data: Mapping[str, Any]) -> _Entry:
        entry = base(data)
        # A file inventory is a path inside the checkout; a backup must not point outside it.
        path = entry.columns["inventory"]
        if entry.columns["type"] == "file":
            normal = posixpath.normpath(path.replace("\\", "/")) if path else ""
            if normal.startswith("/") or normal == ".." or normal.startswith("../"):
                raise ValidationError("inventory path must stay inside the repository", "inventory")
        return entry

    return read


def parse_backup(document: Any) -> _Document:
    """Check a whole backup document before anything is written.

    Raises:
        ValidationError: "error at <place>: <problem>" for the first problem found.
    """
    document = v.require_mapping(document)
    with _at("meta"):
        meta = _object(document, "meta")
        if meta is None:
            raise ValidationError("meta is required", "meta")
        meta_columns = _read(meta, META)
    sections: dict[str, list[_Entry]] = {}
    names: dict[str, dict[str, _Entry]] = {}
    sections["environments"] = _section(document, "environments", _plain(ENVIRONMENT))
    sections["views"] = _section(document, "views", _view_reader, unique_by="title")
    sections["keys"] = _section(document, "keys", _plain(KEY))
    for section in ("environments", "keys"):
        names[section] = _names(sections[section])
    names["views"] = _names(sections["views"], "title")
    sections["repositories"] = _section(
        document, "repositories", _key_ref_reader(REPOSITORY, ("ssh_key",), names["keys"])
    )
    for i, entry in enumerate(sections["repositories"]):
        if entry.refs["ssh_key"] is None:
            with _at(f"repositories[{i}]"):
                raise ValidationError("SSHKey does not exist in keys[].Name", "ssh_key")
    sections["inventories"] = _section(document, "inventories", _inventory_reader(names["keys"]))
    names["repositories"] = _names(sections["repositories"])
    names["inventories"] = _names(sections["inventories"])
    templates = _section(document, "templates", _template_reader(names))
    _check_build_templates(templates)
    sections["templates"] = templates
    names["templates"] = _names(templates)
    sections["integrations"] = _section(
        document, "integrations", _integration_reader(names), unique_by=None
    )
    project_aliases = _aliases(document, "integration_aliases")
    return _Document(meta_columns, sections, project_aliases)


# --- restoring -------------------------------------------------------------------------------


class _Restorer:
    """Writes a parsed document into a new project, keeping name -> row maps for references."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.ids: dict[str, dict[str, int]] = {}
        self.aliases_taken: set[str] = set()

    def add(self, section: str, model: Any, entries: list[_Entry], resolve: Mapping) -> list[Any]:
        """Insert one section; `resolve` maps a ref name to (column, target section)."""
        rows = []
        for entry in entries:
            values = dict(entry.columns)
            for ref, (column, target) in resolve.items():
                name = entry.refs.get(ref)
                values[column] = self.ids[target][name] if name is not None else None
            row = model(project_id=self.project.id, **values)
            db.session.add(row)
            rows.append(row)
        db.session.flush()
        attribute = "title" if model is View else "name"
        names = self.ids.setdefault(section, {})
        for row in rows:
            names[getattr(row, attribute)] = row.id
        return rows

    def templates(self, entries: list[_Entry]) -> None:
        resolve = {
            "repository": ("repository_id", "repositories"),
            "inventory": ("inventory_id", "inventories"),
            "environment": ("environment_id", "environments"),
            "view": ("view_id", "views"),
            "build_template": ("build_template_id", "templates"),
        }
        builds = [e for e in entries if e.columns["type"] != "deploy"]
        deploys = [e for e in entries if e.columns["type"] == "deploy"]
        for batch in (builds, deploys):
            rows = self.add("templates", Template, batch, resolve)
            for entry, row in zip(batch, rows, strict=True):
                self._template_children(entry, row)

    def _template_children(self, entry: _Entry, row: Template) -> None:
        listed = entry.children["environments"] or (
            [entry.refs["environment"]] if entry.refs["environment"] is not None else []
        )
        for position, name in enumerate(listed):
            db.session.add(
                TemplateEnvironment(
                    template_id=row.id,
                    environment_id=self.ids["environments"][name],
                    position=position,
                )
            )
        for columns, key in entry.children["vaults"]:
            db.session.add(
                TemplateVault(
                    project_id=self.project.id,
                    template_id=row.id,
                    vault_key_id=self.ids["keys"][key] if key is not None else None,
                    **columns,
                )
            )
        if entry.children["cron"] is not None:
            # A restored schedule waits for a new commit instead of firing on its own.
            db.session.add(
                Schedule(
                    project_id=self.project.id,
                    template_id=row.id,
                    cron_format=entry.children["cron"],
                    active=False,
                    repository_id=row.repository_id,
                )
            )

    def integrations(self, entries: list[_Entry]) -> None:
        for entry in entries:
            key = entry.refs["auth_secret"]
            integration = Integration(
                project_id=self.project.id,
                template_id=self.ids["templates"][entry.refs["template"]],
                auth_secret_id=self.ids["keys"][key] if key is not None else None,
                **entry.columns,
            )
            db.session.add(integration)
            db.session.flush()
            for columns in entry.children["matchers"]:
                db.session.add(IntegrationMatcher(integration_id=integration.id, **columns))
            for columns in entry.children["extract_values"]:
                db.session.add(IntegrationExtractValue(integration_id=integration.id, **columns))
            self.aliases(entry.children["aliases"], integration.id)

    def aliases(self, aliases: list[str], integration_id: int | None) -> None:
        """Add the aliases that are still free; the original ignores the others too."""
        for alias in aliases:
            if not ALIAS_RE.match(alias) or alias in self.aliases_taken:
                continue
            self.aliases_taken.add(alias)
            if db.session.scalar(
                select(IntegrationAlias.id).where(IntegrationAlias.alias == alias)
            ):
                continue
            db.session.add(
                IntegrationAlias(
                    alias=alias, project_id=self.project.id, integration_id=integration_id
                )
            )


def restore_project(actor: User, document: Any) -> Project:
    """A new project, owned by the actor, built from a backup (any logged-in user may restore).

    Unlike creating a project, no "None" key or "Empty" environment is added: the backup
    brings its own. Keys come back without secrets.

    Raises:
        ValidationError: the document is malformed; nothing is written.
    """
    parsed = parse_backup(document)
    project = Project(**parsed.meta)
    db.session.add(project)
    db.session.flush()
    db.session.add(ProjectUser(project_id=project.id, user_id=actor.id, role="owner"))
    restorer = _Restorer(project)
    sections = parsed.sections
    restorer.add("environments", Environment, sections["environments"], {})
    restorer.add("views", View, sections["views"], {})
    restorer.add("keys", AccessKey, sections["keys"], {})
    key_ref = ("ssh_key_id", "keys")
    restorer.add("repositories", Repository, sections["repositories"], {"ssh_key": key_ref})
    restorer.add(
        "inventories",
        Inventory,
        sections["inventories"],
        {"ssh_key": key_ref, "become_key": ("become_key_id", "keys")},
    )
    restorer.templates(sections["templates"])
    restorer.integrations(sections["integrations"])
    restorer.aliases(parsed.project_aliases, None)
    access = ProjectAccess(project, actor, "owner")
    events.record(access, "project", project.id, f"Project {project.name} restored from a backup")
    db.session.commit()
    return project
