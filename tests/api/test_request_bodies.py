"""Bodies no service should ever see: each is a 400 with a JSON error, never a 500."""

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import Project, Template
from tests import factories


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000,
        '{"name": "x", "max_parallel_tasks": Infinity}',
        '{"name": NaN}',
        '{"name": "\\udc00"}',
        '{"name": "a\\u0000b"}',
        '{"name": "ok", "type": "", "nested": {"k": ["\\ud800"]}}',
    ],
)
def test_unparseable_or_unstorable_bodies_are_refused(admin_api, raw):
    response = admin_api.post(
        "/api/projects", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Project)) == 0


@pytest.mark.parametrize(
    "task_params",
    [
        "text",
        {"git_branch": {}},
        {"params": {"tags": [8]}},
        {"params": {"debug": "yes"}},
        {"params": []},
    ],
)
def test_template_task_params_must_have_the_contract_shape(app, task_params):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    client = factories.api_client(app, owner)
    inventory = factories.inventory(project=project)
    repository = factories.repository(project=project)
    body = {
        "name": "t",
        "app": "ansible",
        "playbook": "x.yml",
        "inventory_id": inventory.id,
        "repository_id": repository.id,
        "task_params": task_params,
    }
    response = client.post(f"/api/project/{project.id}/templates", json=body)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Template)) == 0
    schedule = {"template_id": 1, "cron_format": "* * * * *", "task_params": task_params}
    template = factories.template(project=project)
    schedule["template_id"] = template.id
    assert client.post(f"/api/project/{project.id}/schedules", json=schedule).status_code == 400
