"""Task values win over the template's environments, wherever a run's variables come from.

A real ansible-playbook prints the variable it received. The template's environment says
`target_env=staging`; the run is given `prod` by a survey answer, a schedule's task params and
an integration's extracted value, and must print `prod` each time. A template with two
environments applies them in order, the later one winning, with the task's value over both.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rq import SimpleWorker

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.models import Task
from semaphore.scheduler.runner import ScheduleRunner
from semaphore.services import schedules, tasks, templates
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.web.helpers import Browser

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "target_env is {{ target_env }}, region is {{ region | default('none') }}"
"""
INVENTORY = "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"


@pytest.fixture(scope="module")
def playbook_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("values"), {"site.yml": PLAYBOOK})


@pytest.fixture
def owner(app):
    return factories.user()


@pytest.fixture
def scene(owner, playbook_repo):
    """A project whose ansible template's environment sets target_env=staging."""
    project = factories.project(members={owner: "owner"})
    access = project_access(owner, project.id)
    repository = factories.repository(
        project=project, git_url=f"file://{playbook_repo}", git_branch="main"
    )
    inventory = factories.inventory(project=project, type="static", inventory=INVENTORY)
    staging = factories.environment(
        project=project, name="staging", json='{"target_env": "staging"}'
    )
    template = templates.create_template(
        access,
        {
            "name": "deploy",
            "app": "ansible",
            "playbook": "site.yml",
            "repository_id": repository.id,
            "inventory_id": inventory.id,
            "environment_id": staging.id,
            "survey_vars": [
                {"name": "target_env", "title": "Target", "type": "enum",
                 "values": [{"name": name, "value": name} for name in ("prod", "staging")]}
            ],
        },
    )  # fmt: skip
    return project, access, template


def _run_queued(app) -> None:
    runtime.set_app(app)
    SimpleWorker([broker.queue(broker.QUEUE_TASKS)], connection=broker.connection()).work(
        burst=True
    )


def _printed(task_id: int) -> str:
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    lines = [line.output for line in task_output.read_lines(task_id)]
    assert task.status == "success", lines
    (line,) = [line for line in lines if "target_env is" in line]
    return line


def test_a_survey_value_wins_over_the_template_environment(app, owner, scene):
    project, access, template = scene
    task = tasks.create_task(
        access, {"template_id": template.id, "environment": '{"target_env": "prod"}'}
    )
    # Before the run the page says what it will receive, already with the survey value.
    page = Browser(app)
    page.log_in(owner)
    before = page.get(f"/project/{project.id}/tasks/{task.id}").get_data(as_text=True)
    assert (
        "Variables it will receive" in before and "&#34;target_env&#34;: &#34;prod&#34;" in before
    )
    _run_queued(app)
    assert "target_env is prod" in _printed(task.id)
    db.session.expire_all()
    assert json.loads(db.session.get(Task, task.id).run_variables) == {"target_env": "prod"}
    after = page.get(f"/project/{project.id}/tasks/{task.id}").get_data(as_text=True)
    assert "Variables the run received" in after and "&#34;target_env&#34;: &#34;prod&#34;" in after


def test_without_a_task_value_the_environment_applies(app, scene):
    _, access, template = scene
    task = tasks.create_task(access, {"template_id": template.id})
    _run_queued(app)
    assert "target_env is staging" in _printed(task.id)


def test_a_schedules_values_win(app, scene):
    _, access, template = scene
    schedule = schedules.create_schedule(
        access,
        {
            "template_id": template.id,
            "name": "nightly",
            "cron_format": "* * * * *",
            "active": True,
            "task_params": {"environment": '{"target_env": "prod"}'},
        },
    )
    ScheduleRunner(zone=UTC).tick(datetime(2024, 1, 1, 10, 0, 30, tzinfo=UTC))
    [task] = db.session.query(Task).filter_by(schedule_id=schedule.id).all()
    _run_queued(app)
    assert "target_env is prod" in _printed(task.id)


def test_an_integrations_extracted_value_wins(app, api, scene):
    project, access, template = scene
    admin_api = factories.api_client(app, factories.user(admin=True))
    base = f"/api/project/{project.id}/integrations"
    created = admin_api.post(base, json={"name": "push", "template_id": template.id}).get_json()
    value = {
        "name": "env",
        "value_source": "body",
        "body_data_type": "json",
        "key": "target",
        "variable": "target_env",
        "variable_type": "environment",
    }
    assert admin_api.post(f"{base}/{created['id']}/values", json=value).status_code == 201
    alias = admin_api.post(f"{base}/{created['id']}/aliases").get_json()
    path = "/api/integrations/" + alias["url"].rsplit("/", 1)[1]
    assert api.client.post(path, json={"target": "prod"}).status_code == 204
    [task] = db.session.query(Task).filter_by(integration_id=created["id"]).all()
    _run_queued(app)
    assert "target_env is prod" in _printed(task.id)


def test_several_environments_apply_in_order_and_the_task_wins_over_all(app, scene):
    project, access, template = scene
    eu = factories.environment(
        project=project, name="eu", json='{"target_env": "eu-staging", "region": "eu"}'
    )
    staging_id = templates.environment_ids(template)[0]
    data = {
        "name": "deploy",
        "app": "ansible",
        "playbook": "site.yml",
        "repository_id": template.repository_id,
        "inventory_id": template.inventory_id,
        "environment_ids": [staging_id, eu.id],
    }
    templates.update_template(access, template.id, data)
    plain = tasks.create_task(access, {"template_id": template.id})
    _run_queued(app)
    assert "target_env is eu-staging, region is eu" in _printed(plain.id)
    chosen = tasks.create_task(
        access, {"template_id": template.id, "environment": '{"target_env": "prod"}'}
    )
    _run_queued(app)
    assert "target_env is prod, region is eu" in _printed(chosen.id)
