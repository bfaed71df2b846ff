"""JsonText: the one column type for the values the original stores as JSON text (survey
variables, task parameters). Code assigns and reads the value; the database holds its JSON."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from semaphore.extensions import db
from semaphore.models import Template
from tests import factories


@pytest.fixture
def template(app):
    return factories.template(project=factories.project())


def _stored_text(template_id: int, column: str) -> str | None:
    query = text(f"SELECT {column} FROM project__template WHERE id = :id")
    return db.session.execute(query, {"id": template_id}).scalar_one()


def test_values_are_stored_as_json_text_and_read_back_as_values(template):
    template.survey_vars = [{"name": "région", "type": "int"}]
    template.task_params = {"params": {"tags": ["web"]}}
    db.session.commit()
    assert _stored_text(template.id, "survey_vars") == '[{"name":"région","type":"int"}]'
    assert _stored_text(template.id, "task_params") == '{"params":{"tags":["web"]}}'
    db.session.expire_all()
    again = db.session.get(Template, template.id)
    assert again.survey_vars == [{"name": "région", "type": "int"}]
    assert again.task_params == {"params": {"tags": ["web"]}}


def test_none_is_null(template):
    template.task_params = None
    db.session.commit()
    assert _stored_text(template.id, "task_params") is None


def test_a_writer_that_still_encodes_by_hand_fails_at_the_flush(template):
    template.task_params = '{"debug": true}'
    with pytest.raises(Exception, match="takes the value, not its JSON text"):
        db.session.flush()
    db.session.rollback()


def test_nan_is_never_stored(template):
    template.task_params = {"x": float("nan")}
    with pytest.raises(Exception, match="JSON compliant"):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("stored", ["{not json", "", "[1, 2"])
def test_text_that_no_longer_parses_reads_as_none(template, stored):
    query = text("UPDATE project__template SET task_params = :value WHERE id = :id")
    db.session.execute(query, {"value": stored, "id": template.id})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Template, template.id).task_params is None
