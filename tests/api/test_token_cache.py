"""Who a bearer token signs in is kept per process (issue 17) and never outlives a change: a
token expired or past its expiry, a member removed or given another role, an admin flag taken
away, a user or project deleted, by this process or another one, is refused on the very next
request; with the notices' connection lost or Redis away the token is read every time; and a
write that never announced itself is bounded by MAX_AGE."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from semaphore import broker
from semaphore.extensions import db
from semaphore.models import APIToken, ProjectUser, utcnow
from semaphore.queue import change_feed
from semaphore.services.auth import token_cache
from tests import factories
from tests.contract import ContractClient
from tests.processes import process_env
from tests.test_list_queries import counting


@pytest.fixture
def owner(app):
    return factories.user(name="First Owner")


@pytest.fixture
def project(owner):
    return factories.project(members={owner: "owner"})


@pytest.fixture
def token(owner):
    return factories.api_token(owner)


@pytest.fixture
def client(app, token):
    return ContractClient(app.test_client(), {"Authorization": f"Bearer {token}"})


@pytest.fixture
def admin_client(app):
    return factories.api_client(app, factories.user(admin=True))


def _statements(client: ContractClient, path: str, status: int = 200) -> list[str]:
    db.session.remove()
    with counting() as statements:
        assert client.get(path).status_code == status
    return statements


def _kept(client: ContractClient, path: str) -> None:
    """Asks twice and checks the second answer came from what was kept: no statement at all."""
    assert client.get(path).status_code == 200
    assert _statements(client, path) == []


def _token_row(owner_id: int) -> APIToken:
    return db.session.query(APIToken).filter_by(user_id=owner_id).one()


@pytest.mark.parametrize("route", ["/api/user", "/api/project/{id}", "/api/project/{id}/templates"])
def test_a_kept_sign_in_asks_the_database_nothing(client, project, route):
    factories.template(project=project)
    _kept(client, route.format(id=project.id))


def test_the_token_expired_by_hand_is_refused_at_once(app, client, owner, project):
    path = f"/api/project/{project.id}"
    handle = _token_row(owner.id).id
    other = factories.api_client(app, owner)
    _kept(client, path)

    assert other.delete(f"/api/user/tokens/{handle}").status_code == 204

    assert client.get(path).status_code == 401
    assert client.get("/api/user").status_code == 401


def test_a_token_past_its_expiry_is_refused_by_the_clock(client, owner, project, monkeypatch):
    path = f"/api/project/{project.id}"
    _token_row(owner.id).expires = utcnow() + timedelta(hours=1)
    db.session.commit()
    _kept(client, path)

    later = utcnow() + timedelta(hours=2)
    monkeypatch.setattr("semaphore.models.user.utcnow", lambda: later)

    assert client.get(path).status_code == 401


def _member(app, project, role: str) -> tuple[str, ContractClient]:
    """A new member's path (/api/project/{id}/users/{user}) and a client of theirs."""
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    return f"/api/project/{project.id}/users/{member.id}", factories.api_client(app, member)


def test_a_removed_member_is_refused_at_once(app, project, admin_client):
    membership, member_client = _member(app, project, "manager")
    path = f"/api/project/{project.id}"
    _kept(member_client, path)

    assert admin_client.delete(membership).status_code == 204

    assert member_client.get(path).status_code == 404


def test_a_new_role_applies_at_once(app, project, admin_client):
    membership, member_client = _member(app, project, "owner")
    project_id = project.id
    path = f"/api/project/{project_id}/role"
    _kept(member_client, path)

    assert admin_client.put(membership, json={"role": "guest"}).status_code == 204

    assert member_client.get(path).get_json()["role"] == "guest"
    renamed = member_client.put(
        f"/api/project/{project_id}", json={"id": project_id, "name": "Mine now"}
    )
    assert renamed.status_code == 403


def test_an_admin_flag_taken_away_applies_at_once(app, project, admin_client):
    other_admin = factories.user(admin=True)
    other_client = factories.api_client(app, other_admin)
    path = f"/api/project/{project.id}"
    user_path = f"/api/users/{other_admin.id}/"
    _kept(other_client, path)
    body = admin_client.get(user_path).get_json()

    changed = admin_client.put(user_path, json={**body, "admin": False})

    assert changed.status_code == 204
    assert other_client.get(path).status_code == 404


def test_a_deleted_user_is_refused_at_once(client, owner, project, admin_client):
    path, user_path = f"/api/project/{project.id}", f"/api/users/{owner.id}/"
    _kept(client, path)

    assert admin_client.delete(user_path).status_code == 204

    assert client.get(path).status_code == 401
    assert client.get("/api/user").status_code == 401


def test_a_deleted_project_is_gone_at_once(client, project):
    path = f"/api/project/{project.id}"
    _kept(client, path)

    assert client.delete(path).status_code == 204

    assert client.get(path).status_code == 404


def test_a_change_by_the_user_shows_in_the_next_request(client, owner):
    user_path = f"/api/users/{owner.id}/"
    _kept(client, "/api/user")
    body = client.get("/api/user").get_json()

    changed = client.put(user_path, json={**body, "name": "Renamed"})

    assert changed.status_code == 204
    assert client.get("/api/user").get_json()["name"] == "Renamed"


def test_each_project_keeps_its_own_answer(app, client, project):
    mine, elsewhere = f"/api/project/{project.id}", f"/api/project/{factories.project().id}"
    _kept(client, mine)

    for _ in range(2):
        assert client.get(elsewhere).status_code == 404
        assert client.get(mine).status_code == 200


def test_an_unknown_token_is_read_every_time(app):
    stranger = ContractClient(app.test_client(), {"Authorization": "Bearer " + "0" * 44})
    for _ in range(2):
        statements = _statements(stranger, "/api/user", status=401)
        assert len(statements) == 1, statements


def test_a_token_expired_by_another_process_is_refused(config, client, owner, project):
    path, owner_id = f"/api/project/{project.id}", owner.id
    _kept(client, path)
    script = textwrap.dedent(
        f"""
        from semaphore import create_app
        from semaphore.extensions import db
        from semaphore.models import APIToken
        app = create_app(web=False)
        with app.app_context():
            db.session.query(APIToken).filter_by(user_id={owner_id}).one().expired = True
            db.session.commit()
        """
    )
    subprocess.run([sys.executable, "-c", script], env=process_env(config), check=True, timeout=60)

    assert client.get(path).status_code == 401


def test_a_lost_subscription_never_keeps_what_changed_meanwhile(client, owner, project):
    path, owner_id, project_id = f"/api/project/{project.id}", owner.id, project.id
    _kept(client, path)
    broker.connection().client_kill_filter(_type="pubsub")
    # Its notice goes nowhere: nobody is subscribed while this commits.
    db.session.query(ProjectUser).filter_by(user_id=owner_id).delete()
    db.session.commit()

    assert client.get(path).status_code == 404
    # Subscribed again (a second later), and kept again.
    db.session.add(ProjectUser(project_id=project_id, user_id=owner_id, role="owner"))
    db.session.commit()
    time.sleep(change_feed.RETRY_SECONDS)
    _kept(client, path)


@pytest.mark.parametrize("config_overrides", [{"redis_url": "redis://127.0.0.1:9/0"}])
def test_without_redis_the_token_is_read_every_time(client):
    for _ in range(2):
        assert len(_statements(client, "/api/user")) == 1


def test_a_write_that_never_announced_itself_lasts_max_age_at_most(
    client, owner, project, monkeypatch
):
    # A write straight to the database (no ORM session, so no notice): the documented window.
    monkeypatch.setattr(token_cache, "MAX_AGE", 0.5)
    path, owner_id = f"/api/project/{project.id}", owner.id
    _kept(client, path)
    kept_at = time.monotonic()
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE user__token SET expired = :yes WHERE user_id = :owner"),
            {"yes": True, "owner": owner_id},
        )
    if time.monotonic() - kept_at < 0.4:
        assert client.get(path).status_code == 200
    time.sleep(0.5)

    assert client.get(path).status_code == 401


def test_only_rows_of_immutable_values_are_kept(project, owner):
    # Merging shares a kept row's values with each request: one a request could change in
    # place (a list, a dict) would reach the next request.
    template = factories.template(project=project, survey_vars=[{"name": "tag", "type": ""}])
    assert template.survey_vars  # loaded, as a sign-in statement loads its rows

    assert token_cache._detached_copy(template) is None
    name = owner.name  # loaded too
    copy = token_cache._detached_copy(owner)
    assert copy is not None and copy is not owner
    assert copy.name == name
