"""In the browser: a re-run opens the run dialog with the earlier task's values and can pin the
commit it ran, which a real worker then checks out although the branch has moved on; the
dialog of an Ansible template offers what the template allows (inventory, limit, tags)."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Task
from tests import factories
from tests.browser.test_task_pages import _drain_queue, log_in

pytestmark = pytest.mark.browser


def _commit(repo, text: str, message: str) -> str:
    (repo / "which.sh").write_text(f'echo "version {text}"\n')
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=repo, check=True)
    return _head(repo)


def _head(repo) -> str:
    found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True)
    return found.stdout.decode().strip()


def _newest_task() -> Task:
    db.session.expire_all()
    return db.session.scalars(select(Task).order_by(Task.id.desc()).limit(1)).one()


def test_a_rerun_pinned_to_its_commit_runs_that_commit(
    app, live_server, page, screenshot, tmp_path
):
    repo = factories.git_repository(tmp_path / "repo", {"which.sh": 'echo "version one"\n'})
    first_commit = _head(repo)
    owner = factories.user(username="pia", name="Pia Pinner")
    project = factories.project(name="Pinning", members={owner: "owner"})
    repository = factories.repository(
        project=project, git_url=f"file://{repo}", git_branch="main", name="Scripts"
    )
    template = factories.template(
        project=project,
        name="Which",
        app="bash",
        playbook="which.sh",
        repository_id=repository.id,
        inventory_id=None,
    )
    log_in(page, live_server, "pia")
    page.goto(f"{live_server}/project/{project.id}/templates/{template.id}")
    page.get_by_test_id("run-template-Which").click()
    page.get_by_test_id("run-submit").click()
    expect(page).to_have_url(re.compile(rf"/project/{project.id}/tasks/\d+$"))
    _drain_queue(app)
    output = page.get_by_test_id("task-output")
    expect(output).to_contain_text("version one", timeout=15_000)
    assert _newest_task().commit_hash == first_commit

    _commit(repo, "two", "Second version")
    first_url = page.url
    page.get_by_test_id("task-rerun").click()
    dialog = page.get_by_test_id("run-dialog")
    expect(dialog.get_by_test_id("run-again-of")).to_contain_text(first_commit[:8])
    pin = dialog.get_by_test_id("field-pin_commit")
    expect(pin).not_to_be_checked()
    pin.check()
    screenshot("rerun-dialog-pin")
    dialog.get_by_test_id("run-submit").click()
    # On the new task's page (the first one's says "queued" too) before its run.
    expect(page).not_to_have_url(first_url)
    expect(page.get_by_test_id("flash")).to_contain_text("queued")
    _drain_queue(app)
    expect(page.get_by_test_id("task-output")).to_contain_text("version one", timeout=15_000)
    assert _newest_task().commit_hash == first_commit

    # Not pinned, a re-run takes the branch's latest.
    pinned_url = page.url
    page.get_by_test_id("task-rerun").click()
    page.get_by_test_id("run-dialog").get_by_test_id("run-submit").click()
    expect(page).not_to_have_url(pinned_url)
    expect(page.get_by_test_id("flash")).to_contain_text("queued")
    _drain_queue(app)
    expect(page.get_by_test_id("task-output")).to_contain_text("version two", timeout=15_000)
    assert _newest_task().commit_hash != first_commit


def test_an_ansible_dialog_offers_what_the_template_allows(app, live_server, page, screenshot):
    owner = factories.user(username="otto", name="Otto Options")
    project = factories.project(name="Options", members={owner: "owner"})
    factories.inventory(project=project, name="Staging")
    template = factories.template(
        project=project,
        name="Site",
        task_params={
            "allow_override_inventory": True,
            "allow_override_limit": True,
            "allow_override_tags": True,
            "allow_override_skip_tags": True,
            "tags": ["deploy"],
        },
    )
    log_in(page, live_server, "otto")
    page.goto(f"{live_server}/project/{project.id}/templates/{template.id}")
    page.get_by_test_id("run-template-Site").click()
    dialog = page.get_by_test_id("run-dialog")
    expect(dialog.get_by_test_id("field-tags")).to_have_value("deploy")
    dialog.get_by_test_id("field-inventory_id").select_option(label="Staging")
    dialog.get_by_test_id("field-limit").fill("web1, web2")
    dialog.get_by_test_id("field-skip_tags").fill("slow")
    screenshot("run-dialog-ansible-options")
    dialog.get_by_test_id("run-submit").click()
    expect(page).to_have_url(re.compile(rf"/project/{project.id}/tasks/\d+$"))
    task = _newest_task()
    assert task.params == {"limit": ["web1", "web2"], "tags": ["deploy"], "skip_tags": ["slow"]}
    expect(page.get_by_test_id("task-details")).to_contain_text("limit: web1, web2")
