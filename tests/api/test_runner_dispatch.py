"""Handing tasks to remote runners (issue 18, step 4): a template's runner_tag and
use_remote_runner send tasks to runners, which claim them at their poll under the same limits
as workers; a task no runner can take waits and says why; a runner that stops polling gives its
unstarted tasks back and its running ones end `error`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from semaphore import broker
from semaphore.extensions import db
from semaphore.models import Runner, Task, utcnow
from semaphore.queue import dispatch as task_queue
from semaphore.scheduler.recovery import release_runner_tasks
from semaphore.security.tokens import digest
from semaphore.services.tasks import output as task_output
from tests import factories

URL = "/api/internal/runners"


def runner(name: str, tags: list[str] | None = None, **fields) -> tuple[Runner, dict]:
    token = f"token-{name}"
    fields.setdefault("active", True)
    row = Runner(name=name, token_hash=digest(token), tags=tags or [], **fields)
    db.session.add(row)
    db.session.commit()
    return row, {"X-Runner-Token": token}


def waiting_task(template) -> Task:
    task = Task(project_id=template.project_id, template_id=template.id, status="waiting")
    db.session.add(task)
    db.session.commit()
    return task


def poll(client, headers) -> dict:
    response = client.get(URL, headers=headers)
    assert response.status_code == 200
    return response.get_json()


def status_of(task_id: int) -> tuple[str, int | None]:
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    return task.status, task.runner_id


def queued(task_id: int) -> bool:
    return bool(broker.connection().exists(task_queue.queued_key(task_id)))


def test_a_tagged_task_waits_for_a_runner_with_its_tag_and_no_worker_is_woken(client):
    template = factories.template(runner_tag="dmz")
    task = waiting_task(template)
    assert task_queue.dispatch_waiting() == 0 and not queued(task.id)
    assert task_queue.blocked_reason(task) == "no active runner with tag `dmz`"
    assert task_queue.claim(task.id) is False  # no worker may take it
    other, other_headers = runner("other", ["web"])
    assert poll(client, other_headers)["new_jobs"] == []
    assert status_of(task.id) == ("waiting", None)

    dmz, headers = runner("dmz", ["dmz", "linux"])
    answer = poll(client, headers)
    assert [job["task"]["id"] for job in answer["new_jobs"]] == [task.id]
    assert status_of(task.id) == ("starting", dmz.id)
    job = answer["new_jobs"][0]
    assert job["spec"]["task_id"] == task.id and job["spec"]["template"]["id"] == template.id
    assert job["template"]["runner_tag"] == "dmz"
    assert set(job["environment"]) >= {"json", "env", "secrets"}
    # Taken once: the next poll lists it as the runner's new job again, to nobody else.
    assert poll(client, other_headers)["new_jobs"] == []


def test_an_inactive_or_offline_runner_gets_nothing(client):
    task = waiting_task(factories.template(runner_tag="dmz"))
    inactive, headers = runner("sleepy", ["dmz"], active=False)
    assert poll(client, headers)["new_jobs"] == []
    assert task_queue.blocked_reason(task) == "no active runner with tag `dmz`"
    inactive.active = True
    db.session.commit()
    # Active but not polled yet: not online, so still no runner for the reason...
    inactive.touched = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert task_queue.blocked_reason(task) == "no active runner with tag `dmz`"
    # ...and its next poll takes the task.
    assert [job["task"]["id"] for job in poll(client, headers)["new_jobs"]] == [task.id]


def test_a_busy_runner_takes_no_more_than_its_max_and_the_rest_say_why(client):
    first = waiting_task(factories.template(runner_tag="dmz"))
    second = waiting_task(factories.template(runner_tag="dmz"))
    row, headers = runner("one-at-a-time", ["dmz"], max_parallel_tasks=1)
    assert [job["task"]["id"] for job in poll(client, headers)["new_jobs"]] == [first.id]
    assert status_of(second.id) == ("waiting", None)
    assert task_queue.blocked_reason(second) == "every active runner with tag `dmz` is busy"
    # The first ends: the runner has room again and takes the second at its next poll.
    client.put(URL, headers=headers, json={"jobs": [{"id": first.id, "status": "success"}]})
    assert [job["task"]["id"] for job in poll(client, headers)["new_jobs"]] == [second.id]


def test_the_project_limits_hold_for_runners_too(client):
    template = factories.template(runner_tag="dmz")
    first, second = waiting_task(template), waiting_task(template)
    _, headers = runner("wide", ["dmz"], max_parallel_tasks=0)
    # One task of a template at a time, as for workers.
    assert [job["task"]["id"] for job in poll(client, headers)["new_jobs"]] == [first.id]
    assert task_queue.blocked_reason(second) == "another task of this template is running"


@pytest.mark.parametrize("config_overrides", [{"use_remote_runner": True}])
def test_use_remote_runner_sends_every_task_to_a_runner(client):
    task = waiting_task(factories.template())
    assert task_queue.dispatch_waiting() == 0 and not queued(task.id)
    assert task_queue.blocked_reason(task) == "no active runner"
    assert task_queue.claim(task.id) is False
    tagged_runner, headers = runner("any", ["dmz"])  # an untagged task runs on any runner
    assert [job["task"]["id"] for job in poll(client, headers)["new_jobs"]] == [task.id]
    assert status_of(task.id) == ("starting", tagged_runner.id)


def test_an_untagged_task_stays_with_the_workers(client):
    task = waiting_task(factories.template())
    _, headers = runner("idle", [])
    assert poll(client, headers)["new_jobs"] == []
    assert task_queue.blocked_reason(task) is None
    assert task_queue.dispatch_waiting() == 1 and queued(task.id)


def test_a_project_runner_takes_only_its_projects_tasks(client):
    mine, theirs = factories.project(), factories.project()
    other_task = waiting_task(factories.template(project=theirs, runner_tag="dmz"))
    _, headers = runner("project", ["dmz"], project_id=mine.id)
    assert poll(client, headers)["new_jobs"] == []
    assert task_queue.blocked_reason(other_task) == "no active runner with tag `dmz`"
    own_task = waiting_task(factories.template(project=mine, runner_tag="dmz"))
    assert [job["task"]["id"] for job in poll(client, headers)["new_jobs"]] == [own_task.id]


def test_an_offline_runner_gives_back_unstarted_tasks_and_its_running_ones_end(client):
    unstarted = waiting_task(factories.template(runner_tag="dmz"))
    running = waiting_task(factories.template(runner_tag="dmz"))
    row, headers = runner("lost", ["dmz"])
    assert len(poll(client, headers)["new_jobs"]) == 2
    client.put(URL, headers=headers, json={"jobs": [{"id": running.id, "status": "running"}]})
    assert release_runner_tasks() == []  # still online: nothing happens
    row = db.session.get(Runner, row.id)
    row.touched = utcnow() - timedelta(seconds=31)
    db.session.commit()

    assert release_runner_tasks() == [running.id]
    assert status_of(unstarted.id) == ("waiting", None)
    assert status_of(running.id)[0] == "error"
    last = task_output.read_lines(running.id)[-1].output
    assert "has not reported for 30 s" in last
    # The template is free: another runner takes the unstarted task at once.
    _, other = runner("spare", ["dmz"])
    assert [job["task"]["id"] for job in poll(client, other)["new_jobs"]] == [unstarted.id]


def test_a_lost_runners_report_is_ignored_once_its_task_moved_on(client):
    task = waiting_task(factories.template(runner_tag="dmz"))
    row, headers = runner("late", ["dmz"])
    poll(client, headers)
    row = db.session.get(Runner, row.id)
    row.touched = utcnow() - timedelta(minutes=2)
    db.session.commit()
    release_runner_tasks()
    _, spare = runner("spare", ["dmz"])
    poll(client, spare)
    response = client.put(
        URL, headers=headers, json={"jobs": [{"id": task.id, "status": "success"}]}
    )
    assert response.status_code == 204
    assert status_of(task.id)[0] == "starting"  # the spare runner's, untouched


@pytest.mark.parametrize("config_overrides", [{"runner_registration_token": "global"}])
def test_registration_stores_the_runners_tags(client):
    response = client.post(URL, json={"registration_token": "global", "tags": ["dmz", "x"]})
    assert response.status_code == 200
    assert db.session.scalars(select(Runner)).one().tags == ["dmz", "x"]
    bad = client.post(URL, json={"registration_token": "global", "tags": ["a b"]})
    assert bad.status_code == 400 and "tags" in bad.get_json()["error"]


# --- the template's runner_tag ------------------------------------------------------------------


def template_body(project, **fields) -> dict:
    repository = factories.repository(project=project)
    inventory = factories.inventory(project=project)
    return {
        "name": f"T {fields.get('runner_tag')}",
        "app": "bash",
        "playbook": "run.sh",
        "repository_id": repository.id,
        "inventory_id": inventory.id,
        **fields,
    }


@pytest.mark.parametrize(
    ("given", "stored"), [("dmz", "dmz"), (" dmz ", "dmz"), ("", None), (None, None)]
)
def test_a_template_keeps_its_runner_tag(admin_api, given, stored):
    project = factories.project()
    created = admin_api.post(
        f"/api/project/{project.id}/templates", json=template_body(project, runner_tag=given)
    )
    assert created.status_code == 201, created.get_json()
    template_id = created.get_json()["id"]
    shown = admin_api.get(f"/api/project/{project.id}/templates/{template_id}").get_json()
    assert shown["runner_tag"] == stored


@pytest.mark.parametrize("given", ["two words", "a,b", 5, "x" * 65])
def test_a_bad_runner_tag_is_refused(admin_api, given):
    project = factories.project()
    response = admin_api.post(
        f"/api/project/{project.id}/templates", json=template_body(project, runner_tag=given)
    )
    assert response.status_code == 400
    assert "runner_tag" in response.get_json()["error"]


@pytest.mark.parametrize("reported", ["error", "success"])
def test_a_run_that_ends_after_a_stop_was_asked_ends_stopped(client, reported):
    task = waiting_task(factories.template(runner_tag="dmz"))
    _, headers = runner("stopper", ["dmz"])
    poll(client, headers)
    client.put(URL, headers=headers, json={"jobs": [{"id": task.id, "status": "running"}]})
    row = db.session.get(Task, task.id)
    row.status = "stopping"
    db.session.commit()
    assert {"id": task.id, "status": "stopping"} in poll(client, headers)["CurrentJobs"]
    client.put(URL, headers=headers, json={"jobs": [{"id": task.id, "status": reported}]})
    assert status_of(task.id)[0] == "stopped"


def test_a_job_that_cannot_be_prepared_ends_error_and_the_poll_still_answers(client):
    broken = waiting_task(factories.template(runner_tag="dmz"))
    row = db.session.get(Task, broken.id)
    row.secret = "sealed with another key"  # cannot be opened with this server's key
    db.session.commit()
    fine = waiting_task(factories.template(runner_tag="dmz"))
    _, headers = runner("careful", ["dmz"])
    answer = poll(client, headers)
    assert [job["task"]["id"] for job in answer["new_jobs"]] == [fine.id]
    assert status_of(broken.id)[0] == "error"
    assert "could not be prepared" in task_output.read_lines(broken.id)[-1].output
    assert broken.id not in [job["id"] for job in answer["CurrentJobs"]]
