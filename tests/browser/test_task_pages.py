"""In the browser: run a real bash template from its run dialog and watch the task finish; stop a
long task from its page. A real RQ worker (or the job itself) runs in this process's threads."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from rq import SimpleWorker
from sqlalchemy import func, select

from semaphore import broker
from semaphore.extensions import db
from semaphore.jobs import runtime
from semaphore.jobs.tasks import run_task
from semaphore.models import Task
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from tests import factories

pytestmark = pytest.mark.browser

SCRIPTS = {
    "hello.sh": (
        'echo "hello from the run dialog"\n'
        'for arg in "$@"; do echo "arg: $arg"; sleep 0.2; done\n'
        'echo "done"\n'
    ),
    "slow.sh": "for i in $(seq 1 600); do echo tick $i; sleep 0.1; done\n",
}
SURVEY = [
    {"name": "greeting", "title": "Greeting", "type": "", "required": True,
     "description": "Passed to the script as greeting=…"},
    {"name": "count", "title": "Count", "type": "int", "required": False},
    {"name": "colour", "title": "Colour", "type": "enum", "required": False,
     "values": [{"name": "Blue", "value": "blue"}, {"name": "Green", "value": "green"}]},
]  # fmt: skip


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("scripts"), SCRIPTS, "Add the scripts")


def log_in(page: Page, live_server: str, username: str) -> None:
    page.goto(f"{live_server}/auth/login")
    page.get_by_test_id("field-auth").fill(username)
    page.get_by_test_id("field-password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    # Attached, not visible: on a phone the user menu is in the closed off-canvas menu.
    expect(page.get_by_test_id("user-menu")).to_be_attached()


def _bash_template(project, script_repo: Path, name: str, script: str, **fields):
    repository = factories.repository(
        project=project, name=f"{name} scripts", git_url=f"file://{script_repo}", git_branch="main"
    )
    return factories.template(
        project=project,
        name=name,
        app="bash",
        playbook=script,
        repository_id=repository.id,
        inventory_id=None,
        **fields,
    )


def _drain_queue(app) -> None:
    """A real RQ worker runs the queued tasks here (RQ wants the main thread for its signal
    handlers); meanwhile the browser keeps polling the live server."""
    runtime.set_app(app)
    SimpleWorker([broker.queue(broker.QUEUE_TASKS)], connection=broker.connection()).work(
        burst=True
    )


def test_owner_runs_a_bash_template_from_the_run_dialog(
    app, live_server, page, screenshot, script_repo
):
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    project = factories.project(name="Apollo", members={owner: "owner"})
    template = _bash_template(
        project,
        script_repo,
        "Say hello",
        "hello.sh",
        description="Greets whoever asks.",
        survey_vars=SURVEY,
        allow_override_args_in_task=True,
        # As the original, the engine refuses survey values for a template without one.
        environment_id=factories.environment(project=project, name="Empty").id,
    )
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/templates")
    page.get_by_test_id("run-template-Say hello").click()
    dialog = page.get_by_test_id("run-dialog")
    expect(dialog).to_be_visible()

    # The dialog's own checks first: a required value is missing, a count is not a number.
    dialog.get_by_test_id("field-survey_1").fill("many")
    dialog.get_by_test_id("run-submit").click()
    expect(dialog.get_by_test_id("error-survey_0")).to_contain_text("Greeting is required")
    expect(dialog.get_by_test_id("error-survey_1")).to_contain_text("Count must be an integer")
    screenshot("task-run-dialog-errors")
    dialog.get_by_test_id("field-survey_0").fill("hi there")
    dialog.get_by_test_id("field-survey_1").fill("3")
    dialog.get_by_test_id("field-survey_2").select_option("green")
    dialog.get_by_test_id("field-arguments").fill('["--verbose"]')
    dialog.get_by_test_id("field-message").fill("first run")
    expect(dialog.get_by_test_id("error-survey_0")).to_have_count(0)
    screenshot("task-run-dialog")
    dialog.get_by_test_id("run-submit").click()

    expect(page).to_have_url(re.compile(rf"/project/{project.id}/tasks/\d+$"))
    expect(page.get_by_test_id("task-status")).to_have_attribute("data-status", "waiting")
    expect(page.get_by_test_id("task-stop")).to_be_visible()
    _drain_queue(app)
    output = page.get_by_test_id("task-output")
    expect(page.get_by_test_id("task-status")).to_have_attribute(
        "data-status", "success", timeout=15_000
    )
    expect(output).to_contain_text("hello from the run dialog")
    expect(output).to_contain_text("arg: greeting=hi there")
    expect(output).to_contain_text("arg: count=3")
    expect(output).to_contain_text("arg: --verbose")
    expect(page.get_by_test_id("task-commit")).to_contain_text("Add the scripts")
    expect(page.get_by_test_id("task-user")).to_have_text("Olive Owner")
    expect(page.get_by_test_id("task-rerun")).to_be_visible()
    expect(page.get_by_test_id("task-stop")).to_have_count(0)
    screenshot("task-page")

    # Run it again from its page (the dialog opens filled from it), then look at the history.
    first_url = page.url
    page.get_by_test_id("task-rerun").click()
    expect(page.get_by_test_id("run-again-of")).to_contain_text("Add the scripts")
    screenshot("rerun-dialog")
    page.get_by_test_id("run-submit").click()
    expect(page).not_to_have_url(first_url)
    expect(page).to_have_url(re.compile(rf"/project/{project.id}/tasks/\d+$"))
    expect(page.get_by_test_id("flash")).to_contain_text("queued")
    _drain_queue(app)
    expect(page.get_by_test_id("task-status")).to_have_attribute(
        "data-status", "success", timeout=15_000
    )
    page.get_by_test_id("nav-tasks").click()
    rows = page.get_by_test_id("task-list").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Say hello")
    expect(rows.first).to_contain_text("Success")
    # The message is the first run's own: a re-run does not repeat it.
    expect(rows.last).to_contain_text("first run")
    expect(rows.first).not_to_contain_text("first run")
    screenshot("task-history")
    page.get_by_test_id("nav-templates").click()
    page.get_by_test_id("template-link-Say hello").click()
    expect(page).to_have_url(re.compile(rf"/templates/{template.id}$"))
    expect(page.get_by_test_id("task-list").locator("tbody tr")).to_have_count(2)
    screenshot("template-page")


def test_a_long_task_is_stopped_from_its_page(app, live_server, page, screenshot, script_repo):
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    project = factories.project(name="Apollo", members={owner: "owner"})
    template = _bash_template(project, script_repo, "Slow", "slow.sh")
    task = tasks.create_task(project_access(owner, project.id), {"template_id": template.id})
    runtime.set_app(app)
    job = threading.Thread(target=run_task, args=(task.id,), daemon=True)
    job.start()

    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/tasks/{task.id}")
    expect(page.get_by_test_id("task-output")).to_contain_text("tick 5", timeout=30_000)
    expect(page.get_by_test_id("task-status")).to_have_attribute("data-status", "running")
    screenshot("task-page-running")
    page.get_by_test_id("task-stop").click()
    expect(page.get_by_test_id("task-status")).to_have_attribute(
        "data-status", "stopped", timeout=20_000
    )
    job.join(timeout=30)
    assert not job.is_alive()
    expect(page.get_by_test_id("task-output")).not_to_contain_text("tick 600")
    expect(page.get_by_test_id("task-rerun")).to_be_visible()
    screenshot("task-page-stopped")


def test_the_run_dialog_of_an_ansible_template_and_its_cancel(app, live_server, page, screenshot):
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    project = factories.project(name="Apollo", members={owner: "owner"})
    factories.template(
        project=project,
        name="Deploy site",
        playbook="site.yml",
        allow_override_branch_in_task=True,
        git_branch="main",
        survey_vars=([{"name": "db_password", "title": "Database password", "type": "secret"}]),
    )
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/templates")
    page.get_by_test_id("run-template-Deploy site").click()
    dialog = page.get_by_test_id("run-dialog")
    expect(dialog.get_by_test_id("field-survey_0")).to_have_attribute("type", "password")
    expect(dialog.get_by_test_id("field-git_branch")).to_be_visible()
    dialog.get_by_test_id("field-dry_run").check()
    dialog.get_by_test_id("field-diff").check()
    expect(dialog.get_by_test_id("run-switches")).to_contain_text("Debug")
    screenshot("task-run-dialog-ansible")
    dialog.get_by_test_id("run-cancel").click()
    expect(page.get_by_test_id("run-dialog")).to_have_count(0)
    page.wait_for_timeout(500)  # Cancel only closes the dialog: no navigation follows
    expect(page).to_have_url(re.compile(r"/templates$"))
    assert page.get_by_test_id("templates-table").is_visible()


def test_a_double_click_on_run_queues_one_task(app, live_server, page, script_repo):
    owner = factories.user(name="Olive Owner")
    project = factories.project(name="Apollo", members={owner: "owner"})
    template = _bash_template(project, script_repo, "Say hello", "hello.sh")
    log_in(page, live_server, owner.username)
    page.goto(f"{live_server}/project/{project.id}/templates/{template.id}")
    page.get_by_test_id("run-template-Say hello").click()
    expect(page.get_by_test_id("run-dialog")).to_be_visible()
    page.get_by_test_id("run-submit").dblclick()
    expect(page).to_have_url(re.compile(rf"/project/{project.id}/tasks/\d+$"))
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Task)) == 1
