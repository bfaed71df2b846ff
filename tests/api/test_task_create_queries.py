"""POST /api/project/{id}/tasks in few statements (issue 17): the answer is built from what the
request holds (nothing it has just written is read back), and a task the dispatch woke is not
asked about the limits again. The answer stays the one a later GET reads from the database."""

from __future__ import annotations

import pytest
from werkzeug.test import TestResponse

from semaphore.extensions import db
from semaphore.queue.dispatch import REDIS_DOWN
from tests import factories
from tests.processes import free_port
from tests.test_list_queries import counting

# Sign-in with the project and the caller's role (one statement), the template; INSERT task,
# INSERT event, UPDATE the template's count; the dispatch's three reads. It was 16: the template
# read twice, then the task, template and user read back and the limits read again for the
# answer; then 9, the project and role read apart from the sign-in.
WOKEN_STATEMENTS = 8
# A task the dispatch did not wake is asked why it waits: the limits and its runner tag.
WAITING_STATEMENTS = WOKEN_STATEMENTS + 3


@pytest.fixture
def owner(app):
    return factories.user(name="Owner Name")


@pytest.fixture
def project(owner):
    return factories.project(members={owner: "owner"})


@pytest.fixture
def client(app, owner):
    return factories.api_client(app, owner)


def _post(client, project_id: int, body: dict) -> tuple[TestResponse, list[str]]:
    """One POST as a fresh request makes it (nothing loaded in the session beforehand), and
    the statements it sent."""
    db.session.remove()
    with counting() as statements:
        answer = client.post(f"/api/project/{project_id}/tasks", json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer, statements


def _assert_as_stored(client, answer: TestResponse) -> None:
    """The POST's answer is, byte for byte, what a GET then reads from the database, but the
    secret ("{}" in a POST's answer, "" elsewhere)."""
    task = answer.get_json()
    db.session.remove()
    read = client.get(f"/api/project/{task['project_id']}/tasks/{task['id']}")
    stored = read.get_data(as_text=True).replace('"secret":""', '"secret":"{}"', 1)
    assert answer.get_data(as_text=True) == stored


def test_a_woken_task_is_answered_in_few_statements(client, project):
    template = factories.template(project=project)
    project_id, template_id = project.id, template.id
    _post(client, project_id, {"template_id": template_id})  # the connections, warm
    db.session.execute(db.text("UPDATE task SET status = 'success'"))
    db.session.commit()

    answer, statements = _post(client, project_id, {"template_id": template_id})

    assert len(statements) <= WOKEN_STATEMENTS, "\n".join(statements)
    assert answer.get_json()["waiting_reason"] is None
    _assert_as_stored(client, answer)


def test_a_task_that_waits_says_why_as_a_get_does(client, project):
    template = factories.template(project=project)
    factories.task(of=template, status="running")
    project_id, template_id = project.id, template.id

    answer, statements = _post(client, project_id, {"template_id": template_id})

    assert len(statements) <= WAITING_STATEMENTS, "\n".join(statements)
    assert answer.get_json()["waiting_reason"] == "another task of this template is running"
    _assert_as_stored(client, answer)


def test_every_field_answers_as_stored(client, project):
    template = factories.template(
        project=project,
        name="Build it",
        playbook="build.yml",
        type="build",
        start_version="1.2.0",
        allow_override_args_in_task=True,
        allow_override_branch_in_task=True,
    )
    built = factories.task(of=template, status="success", version="1.2.0")
    inventory = factories.inventory(project=project)
    body = {
        "template_id": template.id,
        "inventory_id": inventory.id,
        "build_task_id": built.id,
        "debug": True,
        "dry_run": True,
        "diff": True,
        "playbook": "other.yml",
        "environment": '{"a": 1, "b": "x"}',
        "secret": '{"token": "hidden"}',
        "limit": "web1,web2",
        "git_branch": "feature",
        "message": "by hand ü",
        "arguments": '["-v", "--check"]',
        "commit_hash": "0123abcd",
        "params": {"tags": ["web"], "skip_tags": ["db"], "diff": True},
    }

    answer, _ = _post(client, project.id, body)

    _assert_as_stored(client, answer)
    task = answer.get_json()
    assert (task["version"], task["user_name"], task["tpl_alias"]) == (
        "1.2.1",
        "Owner Name",
        "Build it",
    )
    assert task["secret"] == "{}"


@pytest.mark.parametrize("config_overrides", [{"redis_url": f"redis://127.0.0.1:{free_port()}/0"}])
def test_with_redis_down_the_task_is_stored_and_says_why_it_waits(client, project):
    template = factories.template(project=project)

    answer, _ = _post(client, project.id, {"template_id": template.id})

    assert answer.get_json()["status"] == "waiting"
    assert answer.get_json()["waiting_reason"] == REDIS_DOWN
    _assert_as_stored(client, answer)
