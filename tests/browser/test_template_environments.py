"""In the browser: a template takes several environments in order, and a task's page shows the
variables its run receives (the environments, then the task's values over them)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from semaphore.extensions import db
from semaphore.models import Template
from semaphore.services import tasks, templates
from semaphore.services.permissions import project_access
from tests import factories
from tests.browser.test_task_pages import log_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_an_owner_gives_a_template_two_environments_and_sees_what_a_run_receives(
    app, live_server, page, screenshot, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    owner = factories.user(username="olive", name="Olive Owner")
    project = factories.project(name="Shop", members={owner: "owner"})
    base = factories.environment(project=project, name="base", json='{"tier": "web", "n": 1}')
    prod = factories.environment(project=project, name="prod", json='{"n": 3}')
    factories.environment(project=project, name="unused", json="{}")
    repository = factories.repository(project=project, name="scripts")
    template = factories.template(
        project=project, name="Deploy", app="bash", playbook="deploy.sh",
        repository_id=repository.id, inventory_id=None, environment_id=base.id,
    )  # fmt: skip
    log_in(page, live_server, "olive")

    page.goto(f"{live_server}/project/{project.id}/templates/{template.id}/edit")
    page.get_by_test_id(f"more-environment-{prod.id}").check()
    screenshot(f"template environments {width}")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("flash")).to_be_visible()
    db.session.expire_all()
    assert templates.environment_ids(db.session.get(Template, template.id)) == [base.id, prod.id]

    # Editing again keeps them, in their order.
    page.goto(f"{live_server}/project/{project.id}/templates/{template.id}/edit")
    expect(page.get_by_test_id(f"more-environment-{prod.id}")).to_be_checked()

    task = tasks.create_task(
        project_access(owner, project.id),
        {"template_id": template.id, "environment": '{"n": 5}'},
    )
    page.goto(f"{live_server}/project/{project.id}/tasks/{task.id}")
    variables = page.get_by_test_id("task-run-variables")
    expect(variables).to_contain_text('"tier": "web"')
    expect(variables).to_contain_text('"n": 5')
    expect(page.get_by_text(re.compile("Variables it will receive"))).to_be_visible()
    screenshot(f"task variables {width}")
