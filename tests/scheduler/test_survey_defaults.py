"""A scheduled run gets the survey defaults its schedule does not give (the original loses them,
its #4075); a schedule whose values the survey refuses starts nothing."""

from __future__ import annotations

import json

from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Task
from tests import factories
from tests.api.test_survey import DEFAULTS, SURVEY
from tests.scheduler.test_schedule_runner import at, runner

PLAIN_SURVEY = [var for var in SURVEY if var["name"] != "token"]


def schedule_of(**task_params):
    project = factories.project()
    template = factories.template(project=project, survey_vars=PLAIN_SURVEY)
    return factories.schedule(
        project=project,
        template_id=template.id,
        cron_format="* * * * *",
        active=True,
        task_params=task_params,
    )


def test_a_scheduled_run_gets_the_survey_defaults(app):
    schedule = schedule_of(environment=json.dumps({"region": "eu", "replicas": "7"}))
    [task_id] = runner().tick(at(10, 0, 30))
    task = db.session.get(Task, task_id)
    assert task.schedule_id == schedule.id
    assert json.loads(task.environment) == {**DEFAULTS, "region": "eu", "replicas": 7}


def test_a_schedule_missing_a_required_answer_starts_nothing(app, caplog):
    schedule_of(environment=json.dumps({"verbose": True}))
    assert runner().tick(at(10, 0, 30)) == []
    assert db.session.scalars(select(Task)).all() == []
    assert "cannot start its template: region is required" in caplog.text
