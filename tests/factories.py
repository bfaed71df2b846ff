"""One factory per model: defaults and sequences, so a test states only what matters to it.

Factories write through the services where rules matter (users get real bcrypt hashes) and
through the ORM otherwise. They need an app context (the `app` fixture provides one).
"""

from __future__ import annotations

import itertools
from typing import Any

from semaphore.extensions import db
from semaphore.models import Project, ProjectUser, User
from semaphore.services import auth, users
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
    _, raw = auth.create_token(member)
    return raw


def api_client(app, member: User) -> ContractClient:
    """A contract-checked API client authenticated with a bearer token of the user."""
    return ContractClient(app.test_client(), {"Authorization": f"Bearer {api_token(member)}"})
