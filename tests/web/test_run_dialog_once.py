"""One task per run dialog (issue 20): the same dialog sent twice (a double click, a form sent
again) queues one task, and the second answer goes to it; each new dialog is a new run."""

from __future__ import annotations

import re

from sqlalchemy import select

from semaphore import broker
from semaphore.extensions import db
from semaphore.models import Task
from tests import factories
from tests.web.helpers import Browser, form_values

HTMX = {"HX-Request": "true"}


def _tasks() -> list[Task]:
    db.session.expire_all()
    return list(db.session.scalars(select(Task).order_by(Task.id)))


def _setup(app):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = factories.template(project=project, name="Deploy")
    web = Browser(app)
    web.log_in(owner)
    return owner, project, template, web


def test_the_same_dialog_sent_twice_queues_one_task(app):
    owner, project, template, web = _setup(app)
    dialog = f"/project/{project.id}/templates/{template.id}/run"
    fields = form_values(web.get(dialog, headers=HTMX).get_data(as_text=True))
    assert re.fullmatch(r"[0-9a-f]{32}", fields["submission"])
    first = web.post(dialog, data=fields)
    again = web.post(dialog, data=fields)
    (task,) = _tasks()
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert again.headers["Location"] == f"/project/{project.id}/tasks/{task.id}"
    page = web.get(again.headers["Location"]).get_data(as_text=True)
    assert f"Task #{task.id} was queued by this dialog already" in page

    # A new dialog is a new run.
    other = form_values(web.get(dialog, headers=HTMX).get_data(as_text=True))
    assert other["submission"] != fields["submission"]
    assert web.post(dialog, data=other).status_code == 303
    assert len(_tasks()) == 2


def test_a_dialog_still_being_sent_is_refused_at_the_form(app):
    owner, project, template, web = _setup(app)
    dialog = f"/project/{project.id}/templates/{template.id}/run"
    fields = form_values(web.get(dialog, headers=HTMX).get_data(as_text=True))
    # The first request has claimed the id and is creating the task right now.
    key = broker.key("submission", project.id, owner.id, fields["submission"])
    broker.connection().set(key, b"pending", ex=60)
    answer = web.post(dialog, data=fields, headers=HTMX)
    assert answer.status_code == 422
    assert "This run was sent already and is being queued" in answer.get_data(as_text=True)
    assert _tasks() == []


def test_a_failed_run_frees_its_dialog_and_a_form_without_an_id_still_runs(app):
    owner, project, template, web = _setup(app)
    template.allow_override_args_in_task = True
    db.session.commit()
    dialog = f"/project/{project.id}/templates/{template.id}/run"
    fields = form_values(web.get(dialog, headers=HTMX).get_data(as_text=True))
    fields["arguments"] = "not a JSON array"  # refused by the task service
    refused = web.post(dialog, data=fields, headers=HTMX)
    assert refused.status_code == 422 and _tasks() == []
    key = broker.key("submission", project.id, owner.id, fields["submission"])
    assert broker.connection().get(key) is None
    # Sent without the id (an older page): runs, once per send.
    factories.template(project=project, name="Plain", app="bash", inventory_id=None)
    plain = _tasks_template(project, "Plain")
    dialog = f"/project/{project.id}/templates/{plain}/run"
    fields = form_values(web.get(dialog, headers=HTMX).get_data(as_text=True))
    del fields["submission"]
    assert web.post(dialog, data=fields).status_code == 303
    assert web.post(dialog, data=fields).status_code == 303
    assert len(_tasks()) == 2


def _tasks_template(project, name: str) -> int:
    from semaphore.models import Template

    return db.session.scalar(
        select(Template.id).where(Template.project_id == project.id, Template.name == name)
    )
