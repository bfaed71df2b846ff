"""The task pages: a template's page and run dialog, the task history, a task's page with its
output, and the stop / confirm / reject / re-run / delete buttons with the roles they need."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.jobs.task_output import OutputWriter
from semaphore.models import ProjectUser, Task, utcnow
from semaphore.services.keys import seal_secret
from tests import factories
from tests.web.helpers import Browser, csrf_token, form_values

HTMX = {"HX-Request": "true"}
SURVEY = [
    {"name": "region", "title": "Region", "type": "", "required": True, "description": "Where"},
    {"name": "replicas", "title": "Replicas", "type": "int", "required": False},
    {
        "name": "tier",
        "title": "Tier",
        "type": "enum",
        "required": True,
        "values": [{"name": "Gold", "value": "gold"}, {"name": "Bronze", "value": "bronze"}],
    },
    {"name": "api_token", "title": "API token", "type": "secret", "required": False},
]
SECRET = "t0p-s3cret-value"


@pytest.fixture
def template(project):
    return factories.template(
        project=project,
        name="Deploy",
        survey_vars=SURVEY,
        allow_override_args_in_task=True,
        allow_override_branch_in_task=True,
    )


def _html(response) -> str:
    return response.get_data(as_text=True)


def _member(project, role: str):
    user = factories.user(username=f"{role}-user", name=f"{role.title()} User")
    db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=role))
    db.session.commit()
    return user


def _task(project, template, status: str = "waiting", **fields) -> Task:
    now = utcnow()
    if status not in ("waiting",):
        fields.setdefault("start", now - timedelta(seconds=65))
    if status in ("success", "error", "stopped"):
        fields.setdefault("end", now)
    task = Task(
        project_id=project.id,
        template_id=template.id,
        status=status,
        environment=fields.pop("environment", ""),
        **fields,
    )
    db.session.add(task)
    db.session.commit()
    return task


def _output(task: Task, *lines: str) -> None:
    """Store output lines as a running task's job does."""
    writer = OutputWriter(task.id)
    for line in lines:
        writer.write(line)
    writer.flush()


def _post(web, path: str, data: dict | None = None, **kwargs):
    """A POST as a page's button sends it, with the CSRF token of a page the user can see."""
    token = csrf_token(_html(web.get("/")))
    return web.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def _delete(web, path: str):
    token = csrf_token(_html(web.get("/")))
    return web.delete(path, headers={"X-CSRFToken": token, **HTMX})


def _tasks() -> list[Task]:
    db.session.expire_all()
    return list(db.session.scalars(select(Task).order_by(Task.id)))


def _status(task_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Task, task_id).status


def _run_fields(**overrides) -> dict:
    fields = {
        "survey_0": "eu-west",
        "survey_1": "3",
        "survey_2": "gold",
        "survey_3": SECRET,
        "message": "first deploy",
        "git_branch": "release",
        "arguments": '["--forks", "5"]',
        "dry_run": "y",
        "diff": "y",
    }
    fields.update(overrides)
    return fields


# --- the run dialog ----------------------------------------------------------------------------


def test_run_dialog_shows_survey_overrides_and_switches(web, owner, project, template):
    web.log_in(owner)
    base = f"/project/{project.id}/templates/{template.id}/run"
    page = _html(web.get(base))
    for text in ("Region", "Where", "Replicas", "Gold", "Bronze", "API token", "Branch"):
        assert text in page, text
    assert 'type="password"' in page and 'name="survey_3"' in page
    for name in ("arguments", "debug", "dry_run", "diff", "message"):
        assert f'name="{name}"' in page, name
    assert 'name="plan"' not in page
    dialog = _html(web.get(base, headers=HTMX))
    assert dialog.lstrip().startswith("<dialog") and "<html" not in dialog


def test_run_dialog_of_a_terraform_template_has_its_switches(web, owner, project):
    tf = factories.template(project=project, name="Infra", app="terraform", playbook="")
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/templates/{tf.id}/run"))
    for name in ("plan", "destroy", "auto_approve"):
        assert f'name="{name}"' in page, name
    assert 'name="dry_run"' not in page and 'name="arguments"' not in page


def test_running_a_template_stores_a_waiting_task(web, owner, project, template):
    web.log_in(owner)
    response = web.submit(
        f"/project/{project.id}/templates/{template.id}/run", _run_fields(), headers=HTMX
    )
    assert response.status_code == 204, _html(response)
    (task,) = _tasks()
    assert response.headers["HX-Redirect"] == f"/project/{project.id}/tasks/{task.id}"
    assert task.status == "waiting" and task.user_id == owner.id
    assert json.loads(task.environment) == {"region": "eu-west", "replicas": 3, "tier": "gold"}
    assert task.secret and SECRET not in task.secret
    assert task.message == "first deploy" and task.git_branch == "release"
    assert json.loads(task.arguments) == ["--forks", "5"]
    assert task.dry_run and task.diff and not task.debug
    page = _html(web.get(response.headers["HX-Redirect"]))
    assert "eu-west" in page and "first deploy" in page and "Olive Owner" in page
    for path in (
        f"/project/{project.id}/history",
        f"/project/{project.id}/templates/{template.id}",
    ):
        assert SECRET not in _html(web.get(path))
    assert SECRET not in page


def test_a_terraform_run_sends_its_switches_as_params(web, owner, project):
    tf = factories.template(project=project, name="Infra", app="terraform", playbook="")
    web.log_in(owner)
    response = web.submit(
        f"/project/{project.id}/templates/{tf.id}/run", {"destroy": "y", "auto_approve": "y"}
    )
    assert response.status_code == 303
    (task,) = _tasks()
    assert task.params == {"plan": False, "destroy": True, "auto_approve": True, "upgrade": False}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"survey_0": ""}, "survey_0", "Region is required"),
        ({"survey_1": "three"}, "survey_1", "Replicas must be an integer"),
        ({"survey_2": "platinum"}, "survey_2", "Tier must be one of: gold, bronze"),
        ({"arguments": '{"not": "a list"}'}, "arguments", "Arguments must be an array"),
        ({"arguments": "[oops"}, "arguments", "Arguments must be valid JSON"),
    ],
)
def test_bad_input_is_shown_in_the_form(web, owner, project, template, fields, field, message):
    web.log_in(owner)
    path = f"/project/{project.id}/templates/{template.id}/run"
    response = web.submit(path, _run_fields(**fields), headers=HTMX)
    assert response.status_code == 422
    html = _html(response)
    assert html.lstrip().startswith("<form") and f'data-testid="error-{field}"' in html
    assert message in html
    # The typed secret stays in its password input, and nowhere else.
    assert html.count(SECRET) == 1 and re.search(rf'type="password" value="{SECRET}"', html)
    assert _tasks() == []
    full = web.submit(path, _run_fields(**fields))
    assert full.status_code == 422 and message in _html(full) and "<html" in _html(full)


@pytest.mark.parametrize("config_overrides", [{"redis_url": "redis://127.0.0.1:9/0"}])
def test_with_the_queue_down_a_run_is_stored_waiting_once(web, owner, project, template):
    web.log_in(owner)
    response = web.submit(
        f"/project/{project.id}/templates/{template.id}/run", _run_fields(), headers=HTMX
    )
    # Stored, and the browser goes to its page: it starts once the queue is back.
    (task,) = _tasks()
    assert task.status == "waiting"
    assert response.headers["HX-Redirect"] == f"/project/{project.id}/tasks/{task.id}"
    plain = factories.template(project=project, name="Plain")
    done = _task(project, plain, "success")
    dialog = f"/project/{project.id}/templates/{plain.id}/run?task={done.id}"
    rerun = web.post(dialog, data=form_values(_html(web.get(dialog, headers=HTMX))))
    assert rerun.status_code == 303
    assert [t.status for t in _tasks()] == ["waiting", "success", "waiting"]


def test_rerun_opens_the_dialog_filled_from_the_task(web, owner, project, template):
    task = _task(
        project,
        template,
        "error",
        environment=json.dumps({"region": "ap-south", "tier": "bronze"}),
        message="exit status 2",
        commit_hash="0123456789abcdef",
        commit_message="Fix the deploy",
        secret=seal_secret(json.dumps({"api_token": SECRET})),
    )
    web.log_in(owner)
    button = re.search(
        r'<a[^>]*data-testid="task-rerun"[^>]*>',
        _html(web.get(f"/project/{project.id}/tasks/{task.id}")),
    )
    target = f"/project/{project.id}/templates/{template.id}/run?task={task.id}"
    assert (
        button and f'href="{target}"' in button.group(0) and f'hx-get="{target}"' in button.group(0)
    )
    page = _html(web.get(target))
    assert 'value="ap-south"' in page
    assert '<option selected value="bronze">' in page
    # Not the old run's outcome, nor its secret; its commit is named.
    assert "exit status 2" not in page and SECRET not in page
    assert 'data-testid="run-again-of"' in page and "01234567" in page and "Fix the deploy" in page
    assert len(_tasks()) == 1


# --- the task history and a template's page ----------------------------------------------------


def test_history_lists_tasks_newest_first_with_badges(web, owner, project, template):
    statuses = ["success", "error", "stopped", "running", "waiting_confirmation", "waiting"]
    made = [_task(project, template, status, message=f"m-{status}") for status in statuses]
    made[0].user_id = owner.id
    db.session.commit()
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/history"))
    positions = [page.index(f'data-testid="task-row-{task.id}"') for task in made]
    assert positions == sorted(positions, reverse=True)
    for status in statuses:
        assert f'class="badge status status-{status}"' in page
    assert "m-success" in page and "Olive Owner" in page and "1m 05s" in page
    assert 'hx-trigger="every 1.5s"' in page
    assert 'data-testid="nav-tasks" aria-current="page"' in page
    partial = _html(web.get(f"/project/{project.id}/history", headers=HTMX))
    assert partial.lstrip().startswith("<div") and 'id="task-list"' in partial


def test_template_page_lists_its_own_tasks_and_runs(web, owner, project, template):
    other = factories.template(project=project, name="Other")
    mine = _task(project, template, "success")
    theirs = _task(project, other, "success")
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/templates/{template.id}"))
    assert f"task-row-{mine.id}" in page and f"task-row-{theirs.id}" not in page
    assert "run-template-Deploy" in page and "edit-template" in page
    listing = _html(web.get(f"/project/{project.id}/templates"))
    assert "run-template-Deploy" in listing and "template-link-Deploy" in listing


# --- a task's page and its output ----------------------------------------------------------------


def test_task_page_shows_parameters_and_output(web, owner, project, template):
    task = _task(
        project,
        template,
        "success",
        user_id=owner.id,
        message="ship it",
        environment=json.dumps({"region": "eu-west"}),
        arguments='["-v"]',
        git_branch="hotfix",
        limit="web1",
        debug=True,
        commit_hash="0123456789abcdef0123456789abcdef01234567",
        commit_message="Fix the thing",
        secret=seal_secret(json.dumps({"api_token": SECRET})),
    )
    _output(task, "PLAY [all]", "<b>not bold</b>", "ok: [web1]")
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/tasks/{task.id}"))
    for text in ("Task #", "Deploy", "ship it", "eu-west", "hotfix", "web1", "01234567"):
        assert text in page, text
    assert "Fix the thing" in page and "Olive Owner" in page and "debug" in page
    assert "PLAY [all]" in page and "ok: [web1]" in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page
    assert 'data-status="success"' in page
    assert SECRET not in page
    assert 'data-testid="nav-tasks" aria-current="page"' in page


# --- buttons and roles -------------------------------------------------------------------------


def test_stop_and_force_stop(web, owner, project, template):
    task = _task(project, template, "running")
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/tasks/{task.id}"))
    assert "task-stop" in page and "task-force-stop" not in page and "task-rerun" not in page
    response = _post(web, f"/project/{project.id}/tasks/{task.id}/stop")
    assert response.status_code == 303
    assert _status(task.id) == "stopping"
    page = _html(web.get(f"/project/{project.id}/tasks/{task.id}"))
    assert "task-force-stop" in page and 'data-testid="task-stop"' not in page
    _post(web, f"/project/{project.id}/tasks/{task.id}/stop", {"force": "1"})
    assert _status(task.id) in ("stopping", "stopped")


def test_a_waiting_task_stops_at_once(web, owner, project, template):
    task = _task(project, template, "waiting")
    web.log_in(owner)
    _post(web, f"/project/{project.id}/tasks/{task.id}/stop")
    assert _status(task.id) == "stopped"


def test_confirm_and_reject(web, owner, project, template):
    first = _task(project, template, "waiting_confirmation")
    second = _task(project, template, "waiting_confirmation")
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/tasks/{first.id}"))
    assert "task-confirm" in page and "task-reject" in page
    _post(web, f"/project/{project.id}/tasks/{first.id}/confirm")
    assert _status(first.id) == "confirmed"
    _post(web, f"/project/{project.id}/tasks/{second.id}/reject")
    assert _status(second.id) in ("stopping", "stopped")
    again = _post(web, f"/project/{project.id}/tasks/{first.id}/confirm", follow_redirects=True)
    assert "not waiting for confirmation" in _html(again)


def test_rerun_creates_a_task_with_the_same_parameters(web, owner, project):
    template = factories.template(project=project, name="Plain", allow_override_args_in_task=True)
    task = _task(
        project,
        template,
        "error",
        message="exit status 2",
        environment='{"a": 1}',
        arguments='["-v"]',
        diff=True,
        limit="db",
    )
    web.log_in(owner)
    # The dialog as it opens, sent unchanged.
    dialog = f"/project/{project.id}/templates/{template.id}/run?task={task.id}"
    fields = form_values(_html(web.get(dialog, headers=HTMX)))
    assert fields["diff"] == "y" and fields["arguments"] == '["-v"]'
    response = web.post(dialog, data=fields)
    first, new = _tasks()
    assert response.headers["Location"] == f"/project/{project.id}/tasks/{new.id}"
    assert new.status == "waiting" and new.user_id == owner.id
    assert (new.message, new.environment, new.arguments, new.limit, new.diff) == (
        "",
        '{"a": 1}',
        '["-v"]',
        "db",
        True,
    )


def test_only_admins_delete_tasks(web, owner, project, template):
    task = _task(project, template, "success")
    _output(task, "bye")
    web.log_in(owner)
    page = _html(web.get(f"/project/{project.id}/tasks/{task.id}"))
    assert "task-delete" not in page
    assert _delete(web, f"/project/{project.id}/tasks/{task.id}").status_code == 403
    admin = factories.user(admin=True, username="root", name="Root")
    admin_web = Browser(web.client.application)
    admin_web.log_in(admin)
    assert "task-delete" in _html(admin_web.get(f"/project/{project.id}/tasks/{task.id}"))
    response = _delete(admin_web, f"/project/{project.id}/tasks/{task.id}")
    assert response.headers["HX-Redirect"] == f"/project/{project.id}/history"
    assert _tasks() == []


@pytest.mark.parametrize("role", ["guest", "task_runner", "manager"])
def test_buttons_follow_the_role(web, project, template, role):
    user = _member(project, role)
    running = _task(project, template, "running")
    done = _task(project, template, "success")
    web.log_in(user)
    base = f"/project/{project.id}"
    runs = role != "guest"
    assert ("run-template-" in _html(web.get(f"{base}/templates/{template.id}"))) is runs
    assert ("task-stop" in _html(web.get(f"{base}/tasks/{running.id}"))) is runs
    assert ("task-rerun" in _html(web.get(f"{base}/tasks/{done.id}"))) is runs
    assert "task-delete" not in _html(web.get(f"{base}/tasks/{done.id}"))
    run_page = web.get(f"{base}/templates/{template.id}/run")
    assert run_page.status_code == (200 if runs else 403)
    stop = _post(web, f"{base}/tasks/{running.id}/stop")
    assert stop.status_code == (303 if runs else 403)
    assert _status(running.id) == ("stopping" if runs else "running")
    rerun = web.get(f"{base}/templates/{template.id}/run?task={done.id}")
    assert rerun.status_code == (200 if runs else 403)
    confirm = _post(web, f"{base}/tasks/{running.id}/confirm")
    assert confirm.status_code == (303 if runs else 403)
    run = _post(web, f"{base}/templates/{template.id}/run", _run_fields())
    assert run.status_code == (303 if runs else 403)
    assert _delete(web, f"{base}/tasks/{done.id}").status_code == 403


def test_non_members_get_404(web, project, template):
    task = _task(project, template, "success")
    stranger = factories.user(username="stranger")
    web.log_in(stranger)
    base = f"/project/{project.id}"
    for path in (
        f"{base}/history",
        f"{base}/templates/{template.id}",
        f"{base}/templates/{template.id}/run",
        f"{base}/tasks/{task.id}",
        f"{base}/tasks/{task.id}/state",
        f"{base}/tasks/{task.id}/output/before?seq=2",
        f"{base}/tasks/{task.id}/output/search?q=x",
    ):
        assert web.get(path).status_code == 404, path
    assert _post(web, f"{base}/tasks/{task.id}/stop").status_code == 404
    assert web.get(f"{base}/templates/{template.id}/run?task={task.id}").status_code == 404


def test_a_task_of_another_project_is_not_found(web, owner, project, template):
    other = factories.project(name="Other", members={owner: "owner"})
    task = _task(project, template, "success")
    web.log_in(owner)
    assert web.get(f"/project/{other.id}/tasks/{task.id}").status_code == 404
