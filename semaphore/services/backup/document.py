"""Reading a backup document: every object checked before anything is written.

Objects are checked by the rules the API applies to them: repositories, views, integration
matchers and extracted values through their input models (schemas/), a template's survey
variables and vaults through the templates' schema (schemas.backup), its task parameters and
cron as the API checks them, a file inventory's path by the API's file_path_problem, a local
repository by the server's local_repository_roots. Read by the backup's own field specs
(export.py) still: keys (a backup carries no secrets, which KeyIn requires), environments,
integrations (their secret is named, not an id) and inventories (the original's backups hold
file inventories without a path, which its restore accepts); see COLUMNS.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from semaphore.errors import ValidationError
from semaphore.schemas.backup import TemplateBackupParts
from semaphore.schemas.base import parse
from semaphore.schemas.cron import parse_cron
from semaphore.schemas.integrations import ExtractValueIn, MatcherIn
from semaphore.schemas.inventories import file_path_problem
from semaphore.schemas.repositories import RepositoryIn, is_local
from semaphore.schemas.runners import TemplateRunnerTagIn
from semaphore.schemas.views import ViewIn
from semaphore.services import validation as v
from semaphore.services.backup.export import (
    ENVIRONMENT,
    EXTRACT_VALUE,
    INTEGRATION,
    INVENTORY,
    KEY,
    MATCHER,
    META,
    REPOSITORY,
    TEMPLATE,
    VIEW,
    Field,
)
from semaphore.services.repositories import check_local_path
from semaphore.services.templates import checked_task_params

# A backup is at most the 16 MiB request body; this bounds each list so that a hostile document
# cannot make one restore insert millions of rows.
MAX_ITEMS = 10_000
# The list items a schema's message starts with ("vaults[1]: two vaults ..."): part of the place.
_ITEMS = re.compile(r"^((?:[A-Za-z_]\w*\[\d+\]: )+)")
# A template's columns besides its survey variables, which TemplateBackupParts reads.
TEMPLATE_COLUMNS = tuple(spec for spec in TEMPLATE if spec.kind != "survey")


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
        items = _ITEMS.match(exc.message)
        if items is None:
            raise _Located(where, exc.message) from None
        inner = ".".join(items.group(1).rstrip(": ").split(": "))
        raise _Located(f"{where}.{inner}", exc.message[items.end() :]) from None


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
    if spec.kind == "runner_tag":
        return parse(TemplateRunnerTagIn, {"runner_tag": data.get(spec.name)}).runner_tag
    if spec.kind == "object":
        # task_params, the one object a backup's items carry: as the API checks it.
        return checked_task_params({"task_params": data.get(spec.name)})
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


Columns = Callable[[Mapping[str, Any]], dict[str, Any]]


def _by_spec(specs: tuple[Field, ...]) -> Columns:
    """Columns read by the backup's own field specification (for objects without a schema)."""
    return lambda data: _read(data, specs)


def _through(model: type[BaseModel], specs: tuple[Field, ...]) -> Columns:
    """Columns read through the API's input model of the object. The model is given the
    specification's fields only: references are by name in a backup, by id in a request, and
    are read by the section's reader."""
    names = [spec.name for spec in specs]
    # A backup may leave out what the original always writes; its defaults apply as before.
    defaults = {spec.name: spec.default for spec in specs if spec.default is not None}

    def read(data: Mapping[str, Any]) -> dict[str, Any]:
        given = {name: data.get(name) for name in names}
        given.update({n: d for n, d in defaults.items() if given.get(n) is None})
        body = parse(model, given)
        return {name: getattr(body, name) for name in names}

    return read


# How each kind of object's columns are read: through its schema, the API's rules, or by the
# backup's field specification where the schema is still to come.
COLUMNS: dict[str, Columns] = {
    "meta": _by_spec(META),
    "keys": _by_spec(KEY),
    "environments": _by_spec(ENVIRONMENT),
    "views": _through(ViewIn, VIEW),
    "repositories": _through(RepositoryIn, REPOSITORY),
    # Not through InventoryIn: the original's own backups (the contract's example among them)
    # hold file inventories with no path yet, which its restore accepts and its API refuses.
    "inventories": _by_spec(INVENTORY),
    # Its survey variables and vaults are read through TemplateBackupParts.
    "templates": _by_spec(TEMPLATE_COLUMNS),
    "integrations": _by_spec(INTEGRATION),
    "matchers": _through(MatcherIn, MATCHER),
    "extract_values": _through(ExtractValueIn, EXTRACT_VALUE),
}


@dataclass
class Entry:
    """A validated backup object: its columns and the names it refers to."""

    columns: dict[str, Any]
    refs: dict[str, str | None] = field(default_factory=dict)
    children: dict[str, Any] = field(default_factory=dict)


@dataclass
class Document:
    meta: dict[str, Any]
    sections: dict[str, list[Entry]]
    project_aliases: list[str]


def _section(
    document: Mapping[str, Any],
    name: str,
    reader: Callable[[Mapping[str, Any]], Entry],
    *,
    unique_by: str | None = "name",
) -> list[Entry]:
    """Read every object of a top-level list, refusing duplicate names."""
    items = _list(document, name) or []
    entries: list[Entry] = []
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


def _names(entries: list[Entry], attribute: str = "name") -> dict[str, Entry]:
    return {entry.columns[attribute]: entry for entry in entries}


def _aliases(data: Mapping[str, Any], name: str) -> list[str]:
    items = _list(data, name) or []
    for i, alias in enumerate(items):
        if not isinstance(alias, str):
            raise ValidationError(f"{name}[{i}] must be a string", name)
    return items


def _template_reader(doc_names: dict[str, dict[str, Entry]]) -> Callable:
    def read(data: Mapping[str, Any]) -> Entry:
        entry = Entry(COLUMNS["templates"](data))
        _list(data, "survey_vars")  # bounded, as every list of the document
        raw_vaults = _list(data, "vaults")
        parts = parse(
            TemplateBackupParts, {"survey_vars": data.get("survey_vars"), "vaults": raw_vaults}
        )
        entry.columns["survey_vars"] = parts.stored_survey_vars()
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
        for i, vault in enumerate(parts.vaults):
            with _at(f"vaults[{i}]"):
                key = _ref({"vault_key": vault.vault_key}, "vault_key", doc_names["keys"], "keys")
            vaults.append(({"name": vault.name, "type": vault.type, "script": vault.script}, key))
        # Older backups name one vault key on the template itself.
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


def _check_build_templates(templates: list[Entry]) -> None:
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


def _integration_reader(doc_names: dict[str, dict[str, Entry]]) -> Callable:
    def read(data: Mapping[str, Any]) -> Entry:
        entry = Entry(COLUMNS["integrations"](data))
        entry.refs["template"] = _ref(data, "template", doc_names["templates"], "templates")
        if entry.refs["template"] is None:
            raise ValidationError("template does not exist in templates[].name", "template")
        entry.refs["auth_secret"] = _ref(data, "auth_secret", doc_names["keys"], "keys")
        entry.children["aliases"] = _aliases(data, "aliases")
        for name in ("matchers", "extract_values"):
            rows = []
            for i, raw in enumerate(_list(data, name) or []):
                with _at(f"{name}[{i}]"):
                    rows.append(COLUMNS[name](_item(raw)))
            entry.children[name] = rows
        return entry

    return read


def _view_reader(data: Mapping[str, Any]) -> Entry:
    """A view, named by `title` (the original's backups) or `name` (the contract's)."""
    if data.get("title") is None and data.get("name") is not None:
        data = {**data, "title": data["name"]}
    return Entry(COLUMNS["views"](data))


def _plain(kind: str) -> Callable[[Mapping[str, Any]], Entry]:
    return lambda data: Entry(COLUMNS[kind](data))


def _key_ref_reader(
    kind: str, key_fields: tuple[str, ...], keys: Mapping[str, Any]
) -> Callable[[Mapping[str, Any]], Entry]:
    def read(data: Mapping[str, Any]) -> Entry:
        entry = Entry(COLUMNS[kind](data))
        for name in key_fields:
            entry.refs[name] = _ref(data, name, keys, "keys")
        return entry

    return read


def _inventory_reader(keys: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], Entry]:
    base = _key_ref_reader("inventories", ("ssh_key", "become_key"), keys)

    def read(data: Mapping[str, Any]) -> Entry:
        entry = base(data)
        # A file inventory is a path inside the checkout, as the API's file_path_problem says.
        if entry.columns["type"] == "file" and entry.columns["inventory"]:
            problem = file_path_problem(entry.columns["inventory"])
            if problem:
                raise ValidationError(problem, "inventory")
        return entry

    return read


def parse_backup(document: Any) -> Document:
    """Check a whole backup document before anything is written.

    Raises:
        ValidationError: "error at <place>: <problem>" for the first problem found.
    """
    document = v.require_mapping(document)
    with _at("meta"):
        meta = _object(document, "meta")
        if meta is None:
            raise ValidationError("meta is required", "meta")
        meta_columns = COLUMNS["meta"](meta)
    sections: dict[str, list[Entry]] = {}
    names: dict[str, dict[str, Entry]] = {}
    sections["environments"] = _section(document, "environments", _plain("environments"))
    sections["views"] = _section(document, "views", _view_reader, unique_by="title")
    sections["keys"] = _section(document, "keys", _plain("keys"))
    for section in ("environments", "keys"):
        names[section] = _names(sections[section])
    names["views"] = _names(sections["views"], "title")
    sections["repositories"] = _section(
        document, "repositories", _key_ref_reader("repositories", ("ssh_key",), names["keys"])
    )
    for i, entry in enumerate(sections["repositories"]):
        with _at(f"repositories[{i}]"):
            if entry.refs["ssh_key"] is None:
                raise ValidationError("SSHKey does not exist in keys[].Name", "ssh_key")
            # The server's local_repository_roots, as for a repository created through the API.
            if is_local(entry.columns["git_url"]):
                check_local_path(entry.columns["git_url"])
    sections["inventories"] = _section(
        document,
        "inventories",
        _inventory_reader(names["keys"]),
    )
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
    return Document(meta_columns, sections, project_aliases)
