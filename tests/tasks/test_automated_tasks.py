"""Tasks that no user started (schedules, integrations): stored, announced and queued."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from semaphore import broker
from semaphore.errors import ValidationError
from semaphore.extensions import db
from semaphore.models import Event, Task
from semaphore.services import tasks
from tests import factories


def test_an_automated_task_has_no_user_and_carries_its_values(app):
    project = factories.project()
    template = factories.template(project=project)
    task = tasks.start_automated_task(
        template, schedule_id=None, integration_id=None, environment={"REF": "main"}
    )
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    assert stored.status == "waiting" and stored.user_id is None
    assert json.loads(stored.environment) == {"REF": "main"}
    event = db.session.scalars(select(Event).where(Event.object_id == task.id)).one()
    assert (event.project_id, event.user_id, event.object_type) == (project.id, None, "task")
    assert broker.connection().llen("rq:queue:tasks") == 1


def test_automated_params_are_checked_like_a_users(app):
    template = factories.template(project=factories.project())
    with pytest.raises(ValidationError):
        tasks.start_automated_task(template, params={"limit": 5})
    assert db.session.scalars(select(Task)).all() == []
