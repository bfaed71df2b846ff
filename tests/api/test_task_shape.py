"""One task shape (TaskOut): a task reads the same in GET …/tasks/{id}, GET …/tasks,
GET …/tasks/last and its template's `last_task`."""

from __future__ import annotations

import pytest

from semaphore.extensions import db
from semaphore.models import Task, utcnow
from semaphore.schemas.tasks import TaskOut
from tests import factories


@pytest.fixture
def project(user_api):
    return factories.project(members={user_api.user: "owner"})


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Deploy", playbook="site.yml")


def base(project) -> str:
    return f"/api/project/{project.id}"


def by_id(tasks: list[dict]) -> dict[int, dict]:
    return {task["id"]: task for task in tasks}


def test_a_task_reads_the_same_in_every_answer(user_api, project, template):
    started = user_api.post(
        f"{base(project)}/tasks",
        json={
            "template_id": template.id,
            "debug": True,
            "environment": '{"a": 1}',
            "arguments": '["-v"]',
            "git_branch": "main",
            "message": "by hand",
            "params": {"tags": ["web"], "diff": True},
        },
    )
    assert started.status_code == 201
    assert started.get_json()["secret"] == "{}"
    automated = Task(
        template_id=template.id,
        project_id=project.id,
        status="success",
        playbook="",
        params={"plan": True},
        start=utcnow(),
        end=utcnow(),
        commit_hash="abc123",
        version="1.0",
    )
    db.session.add(automated)
    db.session.commit()

    listed = by_id(user_api.get(f"{base(project)}/tasks").get_json())
    last = by_id(user_api.get(f"{base(project)}/tasks/last").get_json())
    [with_template] = user_api.get(f"{base(project)}/templates").get_json()
    newest = with_template["last_task"]
    assert newest["id"] == automated.id

    for task_id in (started.get_json()["id"], automated.id):
        one = user_api.get(f"{base(project)}/tasks/{task_id}").get_json()
        assert set(one) == set(listed[task_id]) == set(last[task_id]) == set(TaskOut.model_fields)
        assert one == listed[task_id] == last[task_id]
        assert one["tpl_alias"] == "Deploy" and one["tpl_playbook"] == "site.yml"
        assert one["secret"] == ""
    assert newest == listed[automated.id]
    assert set(newest) == set(started.get_json())

    by_hand = listed[started.get_json()["id"]]
    assert by_hand["user_name"] == user_api.user.name
    assert by_hand["params"] == {"tags": ["web"], "diff": True}
    assert (by_hand["environment"], by_hand["arguments"]) == ('{"a": 1}', '["-v"]')
    assert listed[automated.id]["user_name"] is None
    assert listed[automated.id]["params"] == {"plan": True}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"debug": "yes"}, "debug must be true or false"),
        ({"environment": "{not json"}, "environment must be valid JSON"),
        ({"environment": "[]"}, "environment must be an object"),
        ({"arguments": '{"a": 1}'}, "arguments must be an array"),
        ({"arguments": "[1]"}, "arguments must be an array of strings"),
        ({"secret": 5}, "secret must be a string"),
        ({"message": "m" * 251}, "message must be at most 250 characters"),
        ({"params": []}, "params must be an object"),
        ({"params": {"debug": 1}}, "params.debug must be true or false"),
        ({"params": {"tags": "web"}}, "params.tags must be an array of strings"),
        ({"build_task_id": "one"}, "build_task_id must be an integer"),
        ({"inventory_id": 999999}, "Inventory 999999 does not exist in this project"),
    ],
)
def test_bad_tasks_are_refused_with_the_field_named(user_api, project, template, fields, message):
    response = user_api.post(f"{base(project)}/tasks", json={"template_id": template.id, **fields})
    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert db.session.query(Task).count() == 0
