"""One factory per model: defaults and sequences, so a test states only what matters to it.

Factories write through the services where rules matter (users get real bcrypt hashes) and
through the ORM otherwise. They need an app context (the `app` fixture provides one).
"""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

from semaphore.extensions import db
from semaphore.models import (
    AccessKey,
    Environment,
    Inventory,
    Project,
    ProjectUser,
    Repository,
    Schedule,
    Task,
    Template,
    User,
    View,
)
from semaphore.services import users
from semaphore.services.auth import api_tokens
from tests.contract import ContractClient

_sequence = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery staple"


def user(**fields: Any) -> User:
    """A user whose password is DEFAULT_PASSWORD unless given."""
    n = next(_sequence)
    data = {
        "username": f"user{n}",
        "name": f"User {n}",
        "email": f"user{n}@example.com",
        "password": DEFAULT_PASSWORD,
    }
    data.update(fields)
    return users.create_user(None, data)


def project(*, members: dict[User, str] | None = None, **fields: Any) -> Project:
    """A project, with members given as {user: role}."""
    n = next(_sequence)
    row = Project(name=fields.pop("name", f"Project {n}"), **fields)
    db.session.add(row)
    db.session.flush()
    for member, role in (members or {}).items():
        db.session.add(ProjectUser(project_id=row.id, user_id=member.id, role=role))
    db.session.commit()
    return row


def api_token(member: User) -> str:
    """A fresh bearer token for the user."""
    _, raw = api_tokens.create_token(member)
    return raw


def api_client(app, member: User) -> ContractClient:
    """A contract-checked API client authenticated with a bearer token of the user."""
    return ContractClient(app.test_client(), {"Authorization": f"Bearer {api_token(member)}"})


def _project_of(fields: dict[str, Any]) -> Project:
    owner = fields.pop("project", None)
    return owner if owner is not None else project()


def _save(row):
    db.session.add(row)
    db.session.commit()
    return row


def key(*, project: Project | None = None, **fields: Any) -> AccessKey:
    """A key of type none (pass type/secret fields through keys.create_key for real secrets)."""
    owner = _project_of({"project": project})
    fields.setdefault("name", f"Key {next(_sequence)}")
    fields.setdefault("type", "none")
    return _save(AccessKey(project_id=owner.id, **fields))


def repository(*, project: Project | None = None, **fields: Any) -> Repository:
    owner = _project_of({"project": project})
    if "ssh_key_id" not in fields:
        fields["ssh_key_id"] = key(project=owner).id
    fields.setdefault("name", f"Repository {next(_sequence)}")
    fields.setdefault("git_url", "https://example.com/repo.git")
    fields.setdefault("git_branch", "main")
    return _save(Repository(project_id=owner.id, **fields))


def inventory(*, project: Project | None = None, **fields: Any) -> Inventory:
    owner = _project_of({"project": project})
    fields.setdefault("name", f"Inventory {next(_sequence)}")
    fields.setdefault("type", "static")
    fields.setdefault("inventory", "localhost ansible_connection=local")
    return _save(Inventory(project_id=owner.id, **fields))


def environment(*, project: Project | None = None, **fields: Any) -> Environment:
    owner = _project_of({"project": project})
    fields.setdefault("name", f"Environment {next(_sequence)}")
    fields.setdefault("json", "{}")
    return _save(Environment(project_id=owner.id, **fields))


def view(*, project: Project | None = None, **fields: Any) -> View:
    owner = _project_of({"project": project})
    fields.setdefault("title", f"View {next(_sequence)}")
    return _save(View(project_id=owner.id, **fields))


def template(*, project: Project | None = None, **fields: Any) -> Template:
    """An ansible template with its own repository and inventory unless given."""
    owner = _project_of({"project": project})
    if "repository_id" not in fields:
        fields["repository_id"] = repository(project=owner).id
    if "inventory_id" not in fields:
        fields["inventory_id"] = inventory(project=owner).id
    fields.setdefault("name", f"Template {next(_sequence)}")
    fields.setdefault("playbook", "site.yml")
    fields.setdefault("app", "ansible")
    return _save(Template(project_id=owner.id, **fields))


def task(*, of: Template | None = None, **fields: Any) -> Task:
    """A task of a template (a new one unless `of`), `success` unless given."""
    owner = of if of is not None else template()
    fields.setdefault("status", "success")
    return _save(Task(template_id=owner.id, project_id=owner.project_id, **fields))


def schedule(*, project: Project | None = None, **fields: Any) -> Schedule:
    owner = _project_of({"project": project})
    if "template_id" not in fields:
        fields["template_id"] = template(project=owner).id
    fields.setdefault("name", f"Schedule {next(_sequence)}")
    fields.setdefault("cron_format", "*/5 * * * *")
    return _save(Schedule(project_id=owner.id, **fields))


def git_repository(directory: Path, files: dict[str, str], message: str = "initial") -> Path:
    """A real git repository in `directory` with the files committed on branch main."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (directory / name).write_text(body)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(directory)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(directory)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True)
    return directory


def script_template(
    project: Project, checkout: Path, script: str, *, ssh_key_id: int | None = None, **fields: Any
) -> Template:
    """A bash template running `script` from a local git repository (`git_repository`),
    reached with the key `ssh_key_id` when given."""
    keyed = {"ssh_key_id": ssh_key_id} if ssh_key_id is not None else {}
    source = repository(project=project, git_url=f"file://{checkout}", git_branch="main", **keyed)
    fields.setdefault("inventory_id", None)
    return template(project=project, app="bash", playbook=script, repository_id=source.id, **fields)
