"""The templates list is kept per process until its project changes (issue 17), and never
served stale: every kind of write that shows in it is seen by the next request, from this
process or another one, with Redis flushed, away, or its notices' connection lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest
from redis.connection import AbstractConnection
from sqlalchemy import delete, update

from semaphore import broker
from semaphore.extensions import db
from semaphore.models import ProjectUser, Task, Template, User
from semaphore.queue import change_feed
from semaphore.services import project_cache, tasks
from semaphore.services.auth import token_cache
from semaphore.services.permissions import project_access
from tests import factories
from tests.processes import process_env
from tests.test_list_queries import counting


@pytest.fixture
def owner(app):
    return factories.user(name="First Owner")


@pytest.fixture
def project(owner):
    return factories.project(members={owner: "owner"})


@pytest.fixture
def client(app, owner):
    return factories.api_client(app, owner)


def reads_the_list(statements: list[str]) -> bool:
    return any("project__template" in s or "FROM task" in s for s in statements)


def names(client, project) -> list[str]:
    answer = client.get(f"/api/project/{project.id}/templates")
    assert answer.status_code == 200
    return [row["name"] for row in answer.get_json()]


def last_task(client, project) -> dict | None:
    answer = client.get(f"/api/project/{project.id}/templates")
    return answer.get_json()[0]["last_task"]


def test_a_kept_list_reads_nothing_of_the_list(client, project):
    for n in range(5):
        factories.template(project=project, name=f"Deploy {n}")
    path = f"/api/project/{project.id}/templates"
    first = client.get(path).get_data()
    token_cache.clear()  # the sign-in read again: only the list is kept
    with counting() as statements:
        again = client.get(path).get_data()
    assert again == first
    # Who asks and their role are checked; nothing of the list is read.
    assert len(statements) == 1, statements
    assert "project__user" in statements[0]
    assert not reads_the_list(statements), statements


def test_api_writes_show_at_once(client, project):
    repository = factories.repository(project=project)
    inventory = factories.inventory(project=project)
    assert names(client, project) == []
    created = client.post(
        f"/api/project/{project.id}/templates",
        json={
            "name": "Deploy",
            "app": "ansible",
            "playbook": "site.yml",
            "repository_id": repository.id,
            "inventory_id": inventory.id,
        },
    )
    assert created.status_code == 201
    assert names(client, project) == ["Deploy"]
    body = {**created.get_json(), "name": "Deploy again"}
    template_id = body["id"]
    assert (
        client.put(f"/api/project/{project.id}/templates/{template_id}", json=body).status_code
        == 204
    )
    assert names(client, project) == ["Deploy again"]
    assert client.delete(f"/api/project/{project.id}/templates/{template_id}").status_code == 204
    assert names(client, project) == []


def test_task_changes_show_in_the_last_task(client, project, owner):
    template = factories.template(project=project)
    assert last_task(client, project) is None
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    assert last_task(client, project)["status"] == "waiting"
    # A bulk statement (the stop of a waiting task) as well as an ORM change.
    tasks.stop_task(project_access(owner, project.id), task.id, {})
    assert last_task(client, project)["status"] == "stopped"
    db.session.execute(update(Task).where(Task.id == task.id).values(status="error"))
    db.session.commit()
    assert last_task(client, project)["status"] == "error"


def test_a_users_new_name_shows_in_every_project(client, project, owner):
    template = factories.template(project=project)
    db.session.add(
        Task(template_id=template.id, project_id=project.id, user_id=owner.id, status="success")
    )
    db.session.commit()
    assert last_task(client, project)["user_name"] == "First Owner"
    db.session.get(User, owner.id).name = "Renamed Owner"
    db.session.commit()
    assert last_task(client, project)["user_name"] == "Renamed Owner"


def test_another_projects_change_keeps_the_list(client, project, owner):
    factories.template(project=project, name="Mine")
    other = factories.project(members={owner: "owner"})
    names(client, project)
    factories.template(project=other, name="Theirs")
    with counting() as statements:
        assert names(client, project) == ["Mine"]
    assert not reads_the_list(statements), statements
    assert names(client, other) == ["Theirs"]


def test_a_change_made_by_another_process_shows(app, config, client, project):
    template = factories.template(project=project, name="Before")
    assert names(client, project) == ["Before"]
    script = textwrap.dedent(
        f"""
        from semaphore import create_app
        from semaphore.extensions import db
        from semaphore.models import Template
        app = create_app(web=False)
        with app.app_context():
            db.session.get(Template, {template.id}).name = "After"
            db.session.commit()
        """
    )
    subprocess.run([sys.executable, "-c", script], env=process_env(config), check=True, timeout=60)
    assert names(client, project) == ["After"]


def test_a_flushed_redis_never_matches_an_answer_kept_before(client, project):
    template = factories.template(project=project, name="One")
    broker.connection().flushdb()
    db.session.get(Template, template.id).name = "Two"
    db.session.commit()  # the project's counter is 1
    assert names(client, project) == ["Two"]
    broker.connection().flushdb()
    db.session.get(Template, template.id).name = "Three"
    db.session.commit()  # 1 again, under a new epoch
    assert names(client, project) == ["Three"]


@pytest.mark.parametrize("config_overrides", [{"redis_url": "redis://127.0.0.1:9/0"}])
def test_without_redis_every_answer_is_fresh(client, project):
    template = factories.template(project=project, name="Before")
    assert names(client, project) == ["Before"]
    db.session.get(Template, template.id).name = "After"
    db.session.commit()
    assert names(client, project) == ["After"]


def test_who_may_read_is_checked_on_every_request(app, client, project):
    factories.template(project=project, name="Secret plans")
    names(client, project)
    stranger = factories.api_client(app, factories.user())
    answer = stranger.get(f"/api/project/{project.id}/templates")
    assert answer.status_code == 404
    assert b"Secret plans" not in answer.get_data()
    guest = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=guest.id, role="guest"))
    db.session.commit()
    guest_client = factories.api_client(app, guest)
    assert names(guest_client, project) == ["Secret plans"]
    db.session.execute(delete(ProjectUser).where(ProjectUser.user_id == guest.id))
    db.session.commit()
    assert guest_client.get(f"/api/project/{project.id}/templates").status_code == 404


def test_a_kept_list_asks_redis_nothing(client, project, monkeypatch):
    # The changes come as notices on this process's subscription (queue.change_feed); reading
    # the counters per request was a round trip that cost more than the kept answer.
    factories.template(project=project, name="Deploy")
    names(client, project)
    sent: list[bytes] = []
    send = AbstractConnection.send_packed_command

    def recorded(connection, command, *args, **kwargs):  # noqa: ANN001, ANN202
        sent.append(
            b"".join(bytes(part) for part in (command if isinstance(command, list) else [command]))
        )
        return send(connection, command, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", recorded)
    with counting() as statements:
        assert names(client, project) == ["Deploy"]
    assert not reads_the_list(statements), statements
    assert sent == []


def test_a_lost_subscription_never_serves_what_changed_meanwhile(client, project):
    template = factories.template(project=project, name="Before")
    assert names(client, project) == ["Before"]
    broker.connection().client_kill_filter(_type="pubsub")
    # Its notice goes nowhere: nobody is subscribed while this commits.
    db.session.get(Template, template.id).name = "After"
    db.session.commit()
    assert names(client, project) == ["After"]
    # Subscribed again (a second later), kept again, and changes still seen.
    time.sleep(change_feed.RETRY_SECONDS)
    assert names(client, project) == ["After"]
    with counting() as statements:
        assert names(client, project) == ["After"]
    assert not reads_the_list(statements), statements
    db.session.get(Template, template.id).name = "Again"
    db.session.commit()
    assert names(client, project) == ["Again"]


def test_an_aged_answer_is_served_while_one_reader_computes_it_again(app, project, monkeypatch):
    # Waiting for it would stall every reader of a busy list once per MAX_AGE.
    key = ("aged",)
    assert project_cache.project_answer(project.id, key, lambda: b"first") == b"first"
    monkeypatch.setattr(project_cache, "MAX_AGE", 0.0)
    computing, release = threading.Event(), threading.Event()

    def slow() -> bytes:
        computing.set()
        release.wait(10)
        return b"second"

    def recompute() -> None:
        with app.app_context():
            assert project_cache.project_answer(project.id, key, slow) == b"second"

    worker = threading.Thread(target=recompute)
    worker.start()
    try:
        assert computing.wait(10)
        # Meanwhile: the aged answer, at once, without computing it a second time.
        assert project_cache.project_answer(project.id, key, lambda: b"not this") == b"first"
    finally:
        release.set()
        worker.join(10)
    monkeypatch.setattr(project_cache, "MAX_AGE", 30.0)
    assert project_cache.project_answer(project.id, key, lambda: b"not this") == b"second"
    # A change is never served aged: the reader waits for the new answer.
    factories.template(project=project)
    assert project_cache.project_answer(project.id, key, lambda: b"third") == b"third"
