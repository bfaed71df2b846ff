"""Restoring a project from a backup: a new project, written in one transaction once the whole
document has been checked (document.py), so a bad backup leaves nothing behind."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from semaphore.errors import ValidationError
from semaphore.extensions import db
from semaphore.models import (
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
from semaphore.services.backup.document import Entry, parse_backup
from semaphore.services.permissions import ProjectAccess

ALIAS_RE = re.compile(r"^[a-z0-9]{1,32}$")


class _Restorer:
    """Writes a parsed document into a new project, keeping name -> row maps for references."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.ids: dict[str, dict[str, int]] = {}
        self.aliases_taken: set[str] = set()

    def add(self, section: str, model: Any, entries: list[Entry], resolve: Mapping) -> list[Any]:
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

    def templates(self, entries: list[Entry]) -> None:
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

    def _template_children(self, entry: Entry, row: Template) -> None:
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

    def integrations(self, entries: list[Entry]) -> None:
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


def restore_project_file(actor: User, raw: bytes) -> Project:
    """restore_project() from an uploaded backup file (the project settings page's Restore).

    Raises:
        ValidationError: no file, not UTF-8 JSON, or not a backup; the message says which,
            on the field "file", and nothing is written.
    """
    if not raw.strip():
        raise ValidationError("Choose a backup file (.json) to restore", "file")
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError("The file is not a backup: it is not text (UTF-8)", "file") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"The file is not a backup: it is not JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno})",
            "file",
        ) from None
    try:
        return restore_project(actor, document)
    except ValidationError as exc:
        db.session.rollback()
        raise ValidationError(f"The file is not a valid backup: {exc.message}", "file") from None
