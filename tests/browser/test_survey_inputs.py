"""In the browser: the run dialog shows each survey type as a real input with its default, a
refused answer at its field, and good answers make a task with the values in their types."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Task
from tests import factories
from tests.api.test_survey import SURVEY
from tests.browser.test_task_pages import log_in
from tests.web.test_run_dialog_survey import TYPED

pytestmark = pytest.mark.browser


def test_the_run_dialog_asks_each_survey_type(app, live_server, page, screenshot):
    owner = factories.user(username="olive", name="Olive Owner", email="olive@example.com")
    project = factories.project(name="Apollo", members={owner: "owner"})
    factories.template(project=project, name="Deploy", survey_vars=SURVEY)
    log_in(page, live_server, "olive")
    page.goto(f"{live_server}/project/{project.id}/templates")
    page.get_by_test_id("run-template-Deploy").click()
    dialog = page.get_by_test_id("run-dialog")
    expect(dialog).to_be_visible()

    region, note, replicas, verbose, tier, services, token = (
        dialog.get_by_test_id(f"field-survey_{index}") for index in range(7)
    )
    expect(dialog).to_contain_text("Region *")
    expect(dialog).to_contain_text("Where")  # the description, as help
    expect(note).to_have_value("line 1\nline 2")
    expect(replicas).to_have_value("2")
    expect(verbose).to_be_checked()
    expect(tier).to_have_value("gold")
    expect(services.get_by_label("API")).to_be_checked()
    expect(services.get_by_label("Web")).to_be_checked()
    expect(services.get_by_label("DB")).not_to_be_checked()
    expect(token).to_have_attribute("type", "password")
    screenshot("run-dialog-survey")

    # A refused answer: the message is at its field; what was typed stays, the secret too.
    region.fill("eu-west")
    replicas.fill("four")
    token.fill("s3cret")
    dialog.get_by_test_id("run-submit").click()
    expect(dialog.get_by_test_id("error-survey_2")).to_have_text("Replicas must be an integer")
    expect(dialog.locator(".field-error")).to_have_count(1)
    expect(dialog.get_by_test_id("field-survey_6")).to_have_value("s3cret")
    expect(dialog.get_by_test_id("field-survey_2")).to_have_value("four")
    screenshot("run-dialog-survey-refused")

    # Good answers: the task stores each in its type.
    dialog = page.get_by_test_id("run-dialog")
    dialog.get_by_test_id("field-survey_1").fill("first\nsecond")
    dialog.get_by_test_id("field-survey_2").fill("4")
    dialog.get_by_test_id("field-survey_3").uncheck()
    dialog.get_by_test_id("field-survey_4").select_option("bronze")
    dialog.get_by_test_id("field-survey_5").get_by_label("API").uncheck()
    dialog.get_by_test_id("field-survey_5").get_by_label("DB").check()
    dialog.get_by_test_id("run-submit").click()
    expect(page).to_have_url(re.compile(rf"/project/{project.id}/tasks/\d+$"))

    db.session.expire_all()
    [task] = db.session.scalars(select(Task)).all()
    assert json.loads(task.environment) == TYPED
    assert task.secret and "s3cret" not in task.secret
