"""The global queue (issue 21): GET /api/tasks, GET and DELETE /api/tasks/{id} for admins, as
the original's admin routes with our additions, and the "Active tasks" page; every other caller
is refused."""

from __future__ import annotations

import pytest

from semaphore.extensions import db
from semaphore.models import Runner, Task
from tests import factories
from tests.web.helpers import Browser, csrf_token


def _world():
    owner = factories.user()
    shop = factories.project(name="Shop", members={owner: "owner"})
    blog = factories.project(name="Blog")
    deploy = factories.template(project=shop, name="Deploy")
    backup = factories.template(project=blog, name="Backup")
    runner = Runner(name="dmz-1", active=True)
    db.session.add(runner)
    db.session.commit()
    running = factories.task(of=deploy, status="running", user_id=owner.id, runner_id=runner.id)
    waiting = factories.task(of=backup, status="waiting")
    factories.task(of=deploy, status="success")
    return owner, running, waiting, runner


def test_admins_see_every_waiting_and_running_task_of_every_project(app):
    owner, running, waiting, runner = _world()
    admin = factories.user(admin=True)
    answer = factories.api_client(app, admin).get("/api/tasks")
    assert answer.status_code == 200
    shown = {row["task_id"]: row for row in answer.get_json()}
    assert set(shown) == {running.id, waiting.id}
    assert shown[running.id] | {"created": None, "start": None} == {
        "task_id": running.id,
        "project_id": running.project_id,
        "username": owner.username,
        "runner_id": runner.id,
        "status": "running",
        "location": "running",
        "runner_name": "dmz-1",
        "project_name": "Shop",
        "template_id": running.template_id,
        "template_name": "Deploy",
        "app": "ansible",
        "created": None,
        "start": None,
        "waiting_reason": None,
    }
    assert shown[waiting.id]["location"] == "queue"
    assert shown[waiting.id]["username"] is None and shown[waiting.id]["project_name"] == "Blog"

    one = factories.api_client(app, admin).get(f"/api/tasks/{waiting.id}")
    assert one.status_code == 200 and one.get_json()["task_id"] == waiting.id


def test_a_finished_or_unknown_task_is_not_in_the_queue(app):
    admin = factories.user(admin=True)
    done = factories.task(status="success")
    client = factories.api_client(app, admin)
    for task_id in (done.id, 999_999):
        answer = client.get(f"/api/tasks/{task_id}")
        assert answer.status_code == 404
        assert answer.get_json() == {"error": "Task not found"}


def test_delete_stops_a_task_and_leaves_a_finished_one_alone(app):
    admin = factories.user(admin=True)
    waiting = factories.task(status="waiting")
    done = factories.task(status="error")
    client = factories.api_client(app, admin)
    assert client.delete(f"/api/tasks/{waiting.id}").status_code == 204
    assert client.delete(f"/api/tasks/{done.id}").status_code == 204
    assert client.delete("/api/tasks/999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(Task, waiting.id).status == "stopped"
    assert db.session.get(Task, done.id).status == "error"


@pytest.mark.parametrize("who", ["owner", "manager", "task_runner", "guest", "outsider"])
def test_everyone_but_an_admin_is_refused(app, who):
    user = factories.user()
    project = factories.project(members={} if who == "outsider" else {user: who})
    task = factories.task(of=factories.template(project=project), status="waiting")
    client = factories.api_client(app, user)
    for method, path in (
        ("GET", "/api/tasks"),
        ("GET", f"/api/tasks/{task.id}"),
        ("DELETE", f"/api/tasks/{task.id}"),
    ):
        answer = client.open(method, path)
        assert answer.status_code == 403, (method, path)
        assert "error" in answer.get_json()
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "waiting"
    page = Browser(app)
    page.log_in(user)
    assert page.get("/tasks").status_code == 403
    token = csrf_token(page.get("/").get_data(as_text=True))
    assert page.post(f"/tasks/{task.id}/stop", data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "waiting"


def test_anonymous_callers_are_refused(client):
    task = factories.task(status="waiting")
    for method, path in (("GET", "/api/tasks"), ("DELETE", f"/api/tasks/{task.id}")):
        assert client.open(path, method=method).status_code == 401
    page = client.get("/tasks")
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]


def test_the_active_tasks_page_lists_them_with_where_and_why_and_stops_one(app):
    owner, running, waiting, runner = _world()
    admin = factories.user(admin=True)
    page = Browser(app)
    page.log_in(admin)
    html = page.get("/tasks").get_data(as_text=True)
    assert f'data-testid="active-task-{running.id}"' in html
    assert f'data-testid="active-task-{waiting.id}"' in html
    assert "1 waiting · 1 running" in html
    # The refresh asks for the table alone.
    table = page.get("/tasks", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in table and f"active-task-{waiting.id}" in table
    answer = page.post(f"/tasks/{waiting.id}/stop", data={"csrf_token": csrf_token(html)})
    assert answer.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Task, waiting.id).status == "stopped"
    assert f"active-task-{waiting.id}" not in page.get("/tasks").get_data(as_text=True)
