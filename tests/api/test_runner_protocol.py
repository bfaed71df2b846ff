"""/api/internal/runners: what a remote runner calls (REFERENCE.md §11), with the original's
paths, bodies and statuses: registration, the X-Runner-Token errors, the poll, the report and
unregistering."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Event, Runner, Task
from semaphore.security.tokens import digest
from semaphore.services.keys import seal_secret
from semaphore.services.tasks import output as task_output
from tests import factories

URL = "/api/internal/runners"
GLOBAL_TOKEN = "global-registration-token"
with_global_token = pytest.mark.parametrize(
    "config_overrides", [{"runner_registration_token": GLOBAL_TOKEN}]
)


def register(client, token: str, **fields):
    return client.post(URL, json={"registration_token": token, **fields})


def runner_with_token(**fields) -> tuple[Runner, str]:
    token = f"runner-token-{fields.get('name', 'r')}"
    runner = Runner(token_hash=digest(token), active=True, **fields)
    db.session.add(runner)
    db.session.commit()
    return runner, token


def assigned_task(runner: Runner | None, status: str = "starting", **fields) -> Task:
    template = factories.template()
    task = Task(
        project_id=template.project_id,
        template_id=template.id,
        status=status,
        runner_id=runner.id if runner else None,
        **fields,
    )
    db.session.add(task)
    db.session.commit()
    return task


def lines(task_id: int) -> list[tuple[datetime, str]]:
    return [(line.time, line.output) for line in task_output.read_lines(task_id)]


# --- registration -------------------------------------------------------------------------------


@with_global_token
def test_registration_with_the_global_token_creates_an_inactive_runner(client):
    response = register(
        client, GLOBAL_TOKEN, webhook="https://r.example.com/hook", max_parallel_tasks=2
    )
    assert response.status_code == 200
    token = response.get_json()["token"]
    assert list(response.get_json()) == ["token"] and len(token) == 44
    runner = db.session.scalars(select(Runner)).one()
    assert runner.token_hash == digest(token)  # only the digest is kept
    assert (runner.active, runner.project_id) == (False, None)
    assert (runner.webhook, runner.max_parallel_tasks) == ("https://r.example.com/hook", 2)
    assert client.get(URL, headers={"X-Runner-Token": token}).status_code == 200


@with_global_token
def test_keys_match_in_any_letter_case(client):
    response = client.post(URL, json={"Registration_Token": GLOBAL_TOKEN, "MAX_PARALLEL_TASKS": 4})
    assert response.status_code == 200
    assert db.session.scalars(select(Runner)).one().max_parallel_tasks == 4


@with_global_token
@pytest.mark.parametrize("given", ["wrong", "", None, GLOBAL_TOKEN.upper()])
def test_a_wrong_or_empty_token_is_refused(client, given):
    body = {} if given is None else {"registration_token": given}
    response = client.post(URL, json=body)
    assert response.status_code == 400
    assert response.get_json() == {"error": "Invalid registration token"}
    assert db.session.scalars(select(Runner)).all() == []


@pytest.mark.parametrize("given", ["", "anything"])
def test_registration_with_a_global_token_is_off_when_the_setting_is_empty(client, given):
    response = register(client, given)
    assert response.status_code == 400
    assert response.get_json() == {"error": "Invalid registration token"}


@pytest.mark.parametrize("body", ['"a string"', "[1]", "{", '{"registration_token": 5}'])
def test_a_bad_body_is_a_400(client, body):
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.get_json()


@pytest.mark.parametrize("webhook", ["ftp://x", "not a url"])
def test_a_bad_webhook_is_refused(client, webhook):
    response = register(client, "anything", webhook=webhook)
    assert response.status_code == 400


def test_a_runners_own_registration_token_works_once(admin_api, client):
    created = admin_api.post("/api/runners", json={"name": "dmz", "registered": False})
    runner_id = created.get_json()["id"]
    one_time = admin_api.post(f"/api/runners/{runner_id}/registration-token").get_json()[
        "registration_token"
    ]
    response = register(client, one_time)
    assert response.status_code == 200
    token = response.get_json()["token"]
    runner = db.session.get(Runner, runner_id)
    db.session.refresh(runner)
    assert runner.token_hash == digest(token)
    assert runner.registration_token_hash is None  # used up
    assert runner.active is False  # an admin activates it
    assert db.session.scalars(select(Runner)).all() == [runner]  # no new runner
    assert admin_api.get(f"/api/runners/{runner_id}").get_json()["registered"] is True
    again = register(client, one_time)
    assert again.status_code == 400
    assert again.get_json() == {"error": "Invalid registration token"}
    # Its token works.
    assert client.get(URL, headers={"X-Runner-Token": token}).status_code == 200
    assert (
        "Runner dmz registered"
        in db.session.scalars(select(Event.description).where(Event.object_id == runner_id)).all()
    )


# --- runner auth --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_a_missing_token_is_401_and_an_unknown_one_404(client, method):
    runner_with_token(name="known")
    call = getattr(client, method)
    missing = call(URL, json={})
    assert missing.status_code == 401
    assert missing.get_json() == {"error": "Invalid token"}
    unknown = call(URL, json={}, headers={"X-Runner-Token": "nobody's"})
    assert unknown.status_code == 404
    assert unknown.get_json() == {"error": "Runner not found"}


def test_the_protocol_needs_no_login_and_ignores_a_cross_site_origin(client):
    _, token = runner_with_token(name="r")
    headers = {"X-Runner-Token": token, "Origin": "https://evil.example.com"}
    assert client.put(URL, json={"Jobs": []}, headers=headers).status_code == 204


# --- the poll -----------------------------------------------------------------------------------


def test_the_poll_touches_the_runner_and_answers_its_state(client):
    runner, token = runner_with_token(name="r")
    response = client.get(URL, headers={"X-Runner-Token": token})
    assert response.status_code == 200
    assert response.get_json() == {
        "CurrentJobs": [],
        "new_jobs": [],
        "access_keys": {},
        "active": True,
        "cleaning_requested": None,
    }
    db.session.refresh(runner)
    assert runner.touched is not None
    assert (datetime.now(UTC) - runner.touched).total_seconds() < 60


def test_a_starting_task_is_a_new_job_with_its_secrets_and_others_are_current(client):
    runner, token = runner_with_token(name="r")
    other, _ = runner_with_token(name="other")
    starting = assigned_task(runner, secret=seal_secret(json.dumps({"pw": "s3cret"})))
    running = assigned_task(runner, status="running")
    stopping = assigned_task(runner, status="stopping")
    assigned_task(runner, status="success")  # finished: not shown
    assigned_task(other)  # another runner's
    assigned_task(None)  # a worker's

    state = client.get(URL, headers={"X-Runner-Token": token}).get_json()
    assert state["CurrentJobs"] == [
        {"id": running.id, "status": "running"},
        {"id": stopping.id, "status": "stopping"},
    ]
    [job] = state["new_jobs"]
    assert job["task"]["id"] == starting.id and job["task"]["status"] == "starting"
    assert json.loads(job["task"]["secret"]) == {"pw": "s3cret"}
    assert job["template"]["id"] == starting.template_id
    assert "last_task" not in job["template"]
    assert job["inventory"]["id"] == job["template"]["inventory_id"]
    assert job["repository"]["id"] == job["template"]["repository_id"]
    assert job["inventory_repository"] is None
    assert job["Username"] == "" and job["IncomingVersion"] is None
    repository_key = str(job["repository"]["ssh_key_id"])
    assert state["access_keys"][repository_key]["type"] == "none"


def test_the_keys_a_job_uses_come_decrypted(client):
    runner, token = runner_with_token(name="r")
    project = factories.project()
    ssh = factories.key(
        project=project,
        type="ssh",
        secret=seal_secret(
            json.dumps({"login": "git", "private_key": "PRIVATE", "passphrase": "pp"})
        ),
    )
    become = factories.key(
        project=project,
        type="login_password",
        secret=seal_secret(json.dumps({"login": "root", "password": "hunter2"})),
    )
    repository = factories.repository(project=project, ssh_key_id=ssh.id)
    inventory = factories.inventory(project=project, become_key_id=become.id)
    template = factories.template(
        project=project, repository_id=repository.id, inventory_id=inventory.id
    )
    task = Task(
        project_id=project.id, template_id=template.id, status="starting", runner_id=runner.id
    )
    db.session.add(task)
    db.session.commit()

    state = client.get(URL, headers={"X-Runner-Token": token}).get_json()
    keys = state["access_keys"]
    assert keys[str(ssh.id)]["ssh"] == {
        "login": "git",
        "passphrase": "pp",
        "private_key": "PRIVATE",
    }
    assert keys[str(become.id)]["login_password"] == {"login": "root", "password": "hunter2"}


# --- the report ---------------------------------------------------------------------------------


def test_a_report_moves_the_task_and_stores_lines_with_the_runners_times(client):
    runner, token = runner_with_token(name="r")
    task = assigned_task(runner, secret=seal_secret("{}"))
    headers = {"X-Runner-Token": token}
    first = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    body = {
        "Jobs": [
            {
                "ID": task.id,
                "Status": "running",
                "LogRecords": [
                    {"time": "2024-05-01T12:00:00.123456+02:00", "message": "first"},
                    {"time": "2024-05-01T10:00:01Z", "message": "second"},
                ],
            }
        ]
    }
    assert client.put(URL, json=body, headers=headers).status_code == 204
    db.session.refresh(task)
    assert task.status == "running" and task.start is not None
    assert lines(task.id) == [
        (first, "first"),
        (datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC), "second"),
    ]

    # Any letter case, inner keys too; the commit; the final status.
    body = {
        "jobs": [
            {
                "id": task.id,
                "status": "success",
                "logRecords": [{"Time": "2024-05-01T10:00:02Z", "MESSAGE": "done\x00"}],
                "commit": {"hash": "abc123", "message": "the commit"},
            }
        ]
    }
    assert client.put(URL, json=body, headers=headers).status_code == 204
    db.session.refresh(task)
    assert task.status == "success" and task.end is not None
    assert (task.commit_hash, task.commit_message) == ("abc123", "the commit")
    assert task.secret is None
    assert [text for _, text in lines(task.id)] == ["first", "second", "done\ufffd"]
    described = db.session.scalars(
        select(Event.description).where(Event.object_type == "task", Event.object_id == task.id)
    ).all()
    assert any("is running" in d for d in described)
    assert any("finished - SUCCESS" in d for d in described)

    # A finished task is final: a late report changes nothing.
    late = {
        "Jobs": [
            {
                "ID": task.id,
                "Status": "error",
                "LogRecords": [{"time": "2024-05-01T10:00:03Z", "message": "late"}],
            }
        ]
    }
    assert client.put(URL, json=late, headers=headers).status_code == 204
    db.session.refresh(task)
    assert task.status == "success" and len(lines(task.id)) == 3


def test_a_report_on_another_runners_or_a_workers_task_changes_nothing(client):
    runner, token = runner_with_token(name="r")
    other, _ = runner_with_token(name="other")
    theirs = assigned_task(other, status="running")
    workers = assigned_task(None, status="running")
    body = {
        "Jobs": [
            {
                "ID": job_id,
                "Status": "error",
                "LogRecords": [{"time": "2024-05-01T10:00:00Z", "message": "injected"}],
            }
            for job_id in (theirs.id, workers.id, 999999)
        ]
    }
    assert client.put(URL, json=body, headers={"X-Runner-Token": token}).status_code == 204
    for task in (theirs, workers):
        db.session.refresh(task)
        assert task.status == "running"
        assert lines(task.id) == []


@pytest.mark.parametrize(
    "body",
    [
        {"Jobs": [{"ID": 1, "Status": "bogus"}]},
        {"Jobs": [{"ID": "one"}]},
        {"Jobs": [{"ID": 1, "LogRecords": [{"time": "yesterday", "message": "x"}]}]},
        {"Jobs": "all"},
    ],
)
def test_a_bad_report_is_a_400(client, body):
    _, token = runner_with_token(name="r")
    response = client.put(URL, json=body, headers={"X-Runner-Token": token})
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_an_empty_report_is_a_204(client):
    _, token = runner_with_token(name="r")
    for body in ({}, {"Jobs": None}, {"Jobs": []}):
        assert client.put(URL, json=body, headers={"X-Runner-Token": token}).status_code == 204


# --- unregistering ------------------------------------------------------------------------------


def test_unregistering_deletes_the_runner_and_its_token_stops_working(client):
    runner, token = runner_with_token(name="r")
    task = assigned_task(runner, status="running")
    runner_id = runner.id
    response = client.delete(URL, headers={"X-Runner-Token": token})
    assert response.status_code == 204
    db.session.expire_all()
    assert db.session.get(Runner, runner_id) is None
    assert db.session.get(Task, task.id).runner_id is None
    again = client.get(URL, headers={"X-Runner-Token": token})
    assert again.status_code == 404
    assert again.get_json() == {"error": "Runner not found"}
