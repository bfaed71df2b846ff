"""A project route signs in and reads the project with the caller's role in one statement
(issue 17): the bearer token or the session cookie, the project and the role are read together,
and the permission check uses that row instead of asking again. Who may see what is unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_login import current_user
from sqlalchemy import delete

from semaphore.errors import NotFound
from semaphore.extensions import db
from semaphore.models import APIToken, ProjectUser, Session, utcnow
from semaphore.services.auth import token_cache
from semaphore.services.permissions import project_access
from tests import factories
from tests.contract import ContractClient
from tests.test_list_queries import counting

# GET /api/project/{id}: the sign-in (the token, or the session row) with its user, the project
# and the user's role in one statement, and nothing else. It was 2 for a token (the token with its
# owner, then the project with the role) and 3 for a cookie (the session, its user, the project).
PROJECT_STATEMENTS = 1
# GET /api/project/{id}/templates: the same one statement before the list (a kept answer reads no
# more; one computed afresh then reads its rows). It was 2 (token) and 3 (cookie) as above.
SIGN_IN_STATEMENTS = 1


def reads_the_list(statement: str) -> bool:
    return "project__template" in statement or "FROM task" in statement


@pytest.fixture
def owner(app):
    return factories.user()


@pytest.fixture
def project(owner):
    project = factories.project(members={owner: "owner"})
    for _ in range(3):
        factories.template(project=project)
    return project


def _signed_in(app, user, how: str) -> ContractClient:
    """A client of the user, by bearer token or by the session cookie of a password login."""
    if how == "bearer":
        return factories.api_client(app, user)
    client = ContractClient(app.test_client())
    answer = client.post(
        "/api/auth/login", json={"auth": user.username, "password": factories.DEFAULT_PASSWORD}
    )
    assert answer.status_code == 204
    return client


def _statements(client: ContractClient, path: str) -> list[str]:
    """The statements one GET sends as a fresh request does (nothing loaded beforehand, the
    token's owner not kept: tests/api/test_token_cache.py)."""
    db.session.remove()
    token_cache.clear()
    with counting() as statements:
        answer = client.get(path)
    assert answer.status_code == 200, answer.get_json()
    return statements


@pytest.mark.parametrize("how", ["bearer", "cookie"])
def test_the_template_list_signs_in_with_one_statement(app, owner, project, how):
    client = _signed_in(app, owner, how)
    path = f"/api/project/{project.id}/templates"
    _statements(client, path)  # the connections warm, the answer kept

    statements = _statements(client, path)

    # Whether or not the answer was kept (project_cache), nothing but the list follows.
    signing_in = [s for s in statements if not reads_the_list(s)]
    assert len(signing_in) == SIGN_IN_STATEMENTS, "\n".join(statements)
    assert "project__user" in signing_in[0]


@pytest.mark.parametrize("how", ["bearer", "cookie"])
def test_the_project_costs_one_statement(app, owner, project, how):
    client = _signed_in(app, owner, how)
    path = f"/api/project/{project.id}"
    _statements(client, path)

    statements = _statements(client, path)

    assert len(statements) == PROJECT_STATEMENTS, "\n".join(statements)


@pytest.mark.parametrize("how", ["bearer", "cookie"])
@pytest.mark.parametrize(
    ("role", "admin", "status"),
    [("owner", False, 200), ("guest", False, 200), (None, False, 404), (None, True, 200)],
)
def test_who_sees_the_project(app, project, how, role, admin, status):
    user = factories.user(admin=admin)
    if role is not None:
        db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=role))
        db.session.commit()
    client = _signed_in(app, user, how)

    assert client.get(f"/api/project/{project.id}").status_code == status
    assert client.get(f"/api/project/{project.id}/templates").status_code == status


@pytest.mark.parametrize("how", ["bearer", "cookie"])
@pytest.mark.parametrize("admin", [False, True])
def test_an_unknown_project_is_404(app, project, how, admin):
    client = _signed_in(app, factories.user(admin=admin), how)

    assert client.get(f"/api/project/{project.id + 1000}").status_code == 404
    assert client.get(f"/api/project/{project.id + 1000}/templates").status_code == 404


@pytest.mark.parametrize("ended", ["expired", "past_expiry"])
def test_an_ended_token_is_401_on_a_project_route(app, owner, project, ended):
    client = _signed_in(app, owner, "bearer")
    token = db.session.query(APIToken).filter_by(user_id=owner.id).one()
    if ended == "expired":
        token.expired = True
    else:
        token.expires = utcnow() - timedelta(minutes=1)
    db.session.commit()

    assert client.get(f"/api/project/{project.id}/templates").status_code == 401


@pytest.mark.parametrize("ended", ["logged_out", "idle", "unverified"])
def test_an_ended_session_is_401_on_a_project_route(app, owner, project, ended):
    client = _signed_in(app, owner, "cookie")
    row = db.session.query(Session).filter_by(user_id=owner.id).one()
    if ended == "logged_out":
        row.expired = True
    elif ended == "idle":
        row.last_active = utcnow() - timedelta(days=8)
    else:
        row.verified = False
    db.session.commit()

    assert client.get(f"/api/project/{project.id}/templates").status_code == 401
    if ended == "idle":
        db.session.refresh(row)
        assert row.expired is True  # an idle session is ended for good, as on any route


def test_a_session_still_active_is_touched_on_a_project_route(app, owner, project):
    client = _signed_in(app, owner, "cookie")
    row = db.session.query(Session).filter_by(user_id=owner.id).one()
    row.last_active = utcnow() - timedelta(minutes=10)
    db.session.commit()

    assert client.get(f"/api/project/{project.id}").status_code == 200

    db.session.refresh(row)
    assert utcnow() - row.last_active < timedelta(minutes=1)


@pytest.mark.parametrize("how", ["bearer", "cookie"])
def test_one_users_access_is_never_anothers(app, owner, project, how):
    outsider = factories.user()
    member_client = _signed_in(app, owner, how)
    outsider_client = _signed_in(app, outsider, how)
    paths = [f"/api/project/{project.id}", f"/api/project/{project.id}/templates"]

    for _ in range(3):
        for path in paths:
            assert member_client.get(path).status_code == 200
            assert outsider_client.get(path).status_code == 404


def _bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {factories.api_token(user)}"}


def _remove_member(user, project) -> None:
    db.session.execute(
        delete(ProjectUser).where(
            ProjectUser.user_id == user.id, ProjectUser.project_id == project.id
        )
    )
    db.session.commit()


def test_the_row_read_at_sign_in_serves_one_check_of_its_user(app, owner, project):
    outsider = factories.user()
    with app.test_request_context(f"/api/project/{project.id}", headers=_bearer(owner)):
        assert current_user.id == owner.id  # signs in, reading the project and the role

        # Another user's check never gets the owner's row.
        with pytest.raises(NotFound):
            project_access(outsider, project.id)
        with counting() as statements:
            assert project_access(owner, project.id).role == "owner"
        assert statements == []
        # A later check in the same request (a long socket's, or one after a write) asks again.
        _remove_member(owner, project)
        with pytest.raises(NotFound):
            project_access(owner, project.id)


def test_nothing_read_at_sign_in_outlives_its_request(app, owner, project):
    # The request shares the test's app context, so `g` too: only the teardown drops the row.
    with app.test_request_context(f"/api/project/{project.id}", headers=_bearer(owner)):
        assert current_user.id == owner.id
    _remove_member(owner, project)

    with pytest.raises(NotFound):
        project_access(owner, project.id)
