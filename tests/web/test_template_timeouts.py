"""The template form's max duration: saved through the API's service, a bad value shown at the
field, and the template page showing the limit."""

from __future__ import annotations

import pytest

from semaphore.extensions import db
from semaphore.models import Template
from tests import factories
from tests.web.test_runner_pages import _html, _template_fields

FIELD = "max_task_duration_sec"


def _stored(template_id: int) -> int | None:
    db.session.expire_all()
    return db.session.get(Template, template_id).max_task_duration_sec


@pytest.mark.parametrize(
    "value,message",
    [
        ("-1", "Max duration must be at least 0"),
        ("x", "Max duration must be an integer"),
        ("1.5", "Max duration must be an integer"),
    ],
)
def test_a_bad_limit_is_shown_at_its_field(web, owner, project, value, message):
    template = factories.template(project=project, name="Deploy", **{FIELD: 60})
    edit = f"/project/{project.id}/templates/{template.id}/edit"
    web.log_in(owner)
    refused = web.submit(edit, _template_fields(template, **{FIELD: value}))
    assert refused.status_code == 422
    assert f'data-testid="error-{FIELD}">{message}<' in _html(refused)
    assert _stored(template.id) == 60


def test_the_form_saves_clears_and_the_page_shows_the_limit(web, owner, project):
    template = factories.template(project=project, name="Deploy")
    edit = f"/project/{project.id}/templates/{template.id}/edit"
    page = f"/project/{project.id}/templates/{template.id}"
    web.log_in(owner)
    assert f'data-testid="field-{FIELD}"' in _html(web.get(edit))
    assert "template-max-duration" not in _html(web.get(page))

    saved = web.submit(edit, _template_fields(template, **{FIELD: " 90 "}))
    assert saved.status_code == 303
    assert _stored(template.id) == 90
    assert 'value="90"' in _html(web.get(edit))
    assert 'data-testid="template-max-duration">90 s<' in _html(web.get(page))

    cleared = web.submit(edit, _template_fields(template, **{FIELD: ""}))
    assert cleared.status_code == 303
    assert _stored(template.id) is None
