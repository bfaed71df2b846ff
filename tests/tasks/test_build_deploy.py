"""Build → deploy: a build task's version, and the autorun deploys its success starts, once.

The end-to-end test runs the tasks on real `semaphore worker` processes with two workers and two
`semaphore scheduler` processes about; the runner tests report as a remote runner does, with
the test client.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from semaphore.extensions import db
from semaphore.models import Task
from semaphore.models.task import incoming_version
from semaphore.services import tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks.builds import next_version
from tests import factories
from tests.api.test_runner_dispatch import URL, poll, runner
from tests.processes import Processes
from tests.remote_runner.conftest import output_of, wait_for
from tests.tasks.test_run_job import _template as bash_template

SCRIPTS = {
    "build.sh": 'echo "building $SEMAPHORE_TASK_TARGET_VERSION"\n',
    "broken.sh": 'echo "build failed"; exit 3\n',
    "deploy.sh": 'echo "deploying $SEMAPHORE_TASK_INCOMING_VERSION"\n',
}


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("build-scripts"), SCRIPTS, "scripts")


def build_and_deploys(project, script_repo, build_script="build.sh", **build_fields):
    """A build template (start 1.0.0), a deploy with autorun and one without."""
    build = bash_template(
        project, script_repo, build_script, type="build", start_version="1.0.0", **build_fields
    )
    autorun = bash_template(
        project, script_repo, "deploy.sh", type="deploy", build_template_id=build.id, autorun=True
    )
    manual = bash_template(
        project, script_repo, "deploy.sh", type="deploy", build_template_id=build.id
    )
    return build, autorun, manual


def tasks_of(template_id: int) -> list[Task]:
    db.session.expire_all()
    query = select(Task).where(Task.template_id == template_id).order_by(Task.id)
    return list(db.session.scalars(query))


def finished(task_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(Task, task_id).status in ("success", "error", "stopped")


# --- the build's version -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "current", "expected"),
    [
        ("1.0.0", "1.0.0", "1.0.1"),
        ("1.0.0", "1.0.41", "1.0.42"),
        ("1.0.5", "1.0.2", "1.0.5"),  # max(start, current + 1)
        ("v2-rc", "v7-rc", "v8-rc"),
        ("7", "9", "10"),
        ("2.0.0", "1.9.9", "2.0.0"),  # another prefix: start again
        ("1.0.0", "1.0.x", "1.0.0"),
        ("release", "release", "release"),  # no number to count
    ],
)
def test_next_version(start, current, expected):
    assert next_version(start, current) == expected


def test_build_tasks_count_up_from_the_start_version(app, script_repo):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    build, autorun, _ = build_and_deploys(project, script_repo)
    plain = bash_template(project, script_repo, "build.sh")
    access = project_access(owner, project.id)
    versions = [tasks.create_task(access, {"template_id": build.id}).version for _ in range(3)]
    assert versions == ["1.0.0", "1.0.1", "1.0.2"]
    assert tasks.create_task(access, {"template_id": plain.id}).version is None
    assert tasks.create_task(access, {"template_id": autorun.id}).version is None


def test_a_deploy_run_by_hand_names_its_build(app, user_api, script_repo):
    project = factories.project(members={user_api.user: "owner"})
    build, _, manual = build_and_deploys(project, script_repo)
    built = factories.task(of=build, version="3.1.4")
    url = f"/api/project/{project.id}/tasks"
    response = user_api.post(url, json={"template_id": manual.id, "build_task_id": built.id})
    assert response.status_code == 201
    assert response.get_json()["build_task_id"] == built.id
    assert incoming_version(db.session, db.session.get(Task, response.get_json()["id"])) == "3.1.4"
    elsewhere = factories.task(of=factories.template())
    refused = user_api.post(url, json={"template_id": manual.id, "build_task_id": elsewhere.id})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == f"Task {elsewhere.id} does not exist in this project"


# --- on workers: exactly once, with two workers and two schedulers ---------------------------


def test_a_successful_build_starts_its_autorun_deploy_once_and_a_failed_one_nothing(
    app, processes: Processes, script_repo
):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    build, autorun, manual = build_and_deploys(project, script_repo)
    factories.task(of=build, version="1.0.0")  # an earlier build: this one is 1.0.1
    broken, broken_autorun, _ = build_and_deploys(project, script_repo, "broken.sh")
    for _ in range(2):
        processes.worker()
        processes.scheduler()
    access = project_access(owner, project.id)
    good = tasks.create_task(access, {"template_id": build.id})
    bad = tasks.create_task(access, {"template_id": broken.id})
    assert good.version == "1.0.1"

    wait_for(lambda: len(tasks_of(autorun.id)) == 1 and finished(tasks_of(autorun.id)[0].id), 90)
    wait_for(lambda: finished(bad.id), 30)
    time.sleep(3)  # a second deploy, if one were started, would be stored by now
    deploys = tasks_of(autorun.id)
    assert len(deploys) == 1
    deploy = deploys[0]
    assert (deploy.status, deploy.build_task_id, deploy.user_id) == ("success", good.id, None)
    assert db.session.get(Task, good.id).status == "success"
    assert incoming_version(db.session, deploy) == "1.0.1"
    assert "building 1.0.1" in output_of(good.id)
    assert "deploying 1.0.1" in output_of(deploy.id)
    assert tasks_of(manual.id) == []  # no autorun: nothing starts
    assert db.session.get(Task, bad.id).status == "error"
    assert tasks_of(broken_autorun.id) == []


# --- reported by a remote runner, or by a process with a stale copy -------------------------


def test_a_build_a_runner_reports_done_starts_its_deploy_once(client, script_repo):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    build, autorun, manual = build_and_deploys(project, script_repo, runner_tag="dmz")
    autorun.runner_tag = "dmz"
    db.session.commit()
    _, headers = runner("builder", ["dmz"])
    built = tasks.create_task(project_access(owner, project.id), {"template_id": build.id})
    assert [job["task"]["id"] for job in poll(client, headers)["new_jobs"]] == [built.id]

    done = {"jobs": [{"id": built.id, "status": "success"}]}
    assert client.put(URL, headers=headers, json=done).status_code == 204
    assert client.put(URL, headers=headers, json=done).status_code == 204  # sent again
    deploys = tasks_of(autorun.id)
    assert [(t.status, t.build_task_id, t.user_id) for t in deploys] == [
        ("waiting", built.id, None)
    ]
    assert tasks_of(manual.id) == []
    # The runner takes the deploy at its next poll, with the build's version.
    jobs = poll(client, headers)["new_jobs"]
    assert [job["task"]["id"] for job in jobs] == [deploys[0].id]
    assert jobs[0]["IncomingVersion"] == "1.0.0"
    assert jobs[0]["spec"]["incoming_version"] == "1.0.0"


@pytest.mark.parametrize("status", ["error", "stopped"])
def test_a_build_a_runner_reports_failed_or_stopped_starts_nothing(client, script_repo, status):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    build, autorun, _ = build_and_deploys(project, script_repo, runner_tag="dmz")
    _, headers = runner("builder", ["dmz"])
    built = tasks.create_task(project_access(owner, project.id), {"template_id": build.id})
    poll(client, headers)
    ended = {"jobs": [{"id": built.id, "status": status}]}
    assert client.put(URL, headers=headers, json=ended).status_code == 204
    assert db.session.get(Task, built.id).status == status
    assert tasks_of(autorun.id) == []


def test_a_stale_copy_of_an_ended_build_starts_nothing_more(app, script_repo):
    project = factories.project()
    build, autorun, _ = build_and_deploys(project, script_repo)
    built = factories.task(of=build, status="running", version="1.0.0")
    assert built.status == "running"  # this process's copy
    with db.engine.begin() as other:  # another process ends the build first
        other.execute(update(Task).where(Task.id == built.id).values(status="success"))
    assert tasks.change_status(built, "success") is False
    db.session.commit()
    assert built.status == "success"
    assert tasks_of(autorun.id) == []


def test_an_autorun_deploy_gets_its_surveys_defaults_or_is_not_started(app, script_repo):
    project = factories.project()
    build, autorun, _ = build_and_deploys(project, script_repo)
    autorun.survey_vars = [{"name": "replicas", "title": "Replicas", "type": "int",
                            "default_value": "3"}]  # fmt: skip
    strict = bash_template(
        project, script_repo, "deploy.sh", type="deploy", build_template_id=build.id,
        autorun=True, survey_vars=[{"name": "region", "title": "Region", "required": True}],
    )  # fmt: skip
    db.session.commit()
    built = factories.task(of=build, status="running", version="1.0.0")
    assert tasks.change_status(built, "success") is True
    db.session.commit()
    assert built.status == "success"  # the deploy that cannot start does not undo the build
    [deploy] = tasks_of(autorun.id)
    assert json.loads(deploy.environment) == {"replicas": 3}
    assert tasks_of(strict.id) == []
