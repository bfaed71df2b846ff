"""A template's own max_task_duration_sec through the API and a backup: a whole number of
seconds from 0, or null; 0 and null both mean no limit of the template's own."""

import pytest
from sqlalchemy import select

from semaphore.extensions import db
from semaphore.models import Template
from tests import factories
from tests.api.test_templates import body, project, snapshot, url, world  # noqa: F401

FIELD = "max_task_duration_sec"


def test_the_limit_round_trips(user_api, project, world):  # noqa: F811
    created = user_api.post(url(project), json=body(world, **{FIELD: 30}))
    assert created.status_code == 201
    template = created.get_json()
    assert template[FIELD] == 30
    assert user_api.get(url(project, template["id"])).get_json()[FIELD] == 30
    assert [t[FIELD] for t in user_api.get(url(project)).get_json()] == [30]

    for value in (0, None):
        changed = user_api.put(url(project, template["id"]), json={**template, FIELD: value})
        assert changed.status_code == 204
        assert user_api.get(url(project, template["id"])).get_json()[FIELD] == value
    # PUT replaces the whole template: leaving the field out means no limit.
    user_api.put(url(project, template["id"]), json={**template, FIELD: 5})
    without = {k: v for k, v in template.items() if k != FIELD}
    assert user_api.put(url(project, template["id"]), json=without).status_code == 204
    assert user_api.get(url(project, template["id"])).get_json()[FIELD] is None


@pytest.mark.parametrize(
    "value,message",
    [
        (-1, "max_task_duration_sec must be at least 0"),
        ("x", "max_task_duration_sec must be an integer"),
        ("30", "max_task_duration_sec must be an integer"),
        (1.5, "max_task_duration_sec must be an integer"),
        (True, "max_task_duration_sec must be an integer"),
        (2**31, "max_task_duration_sec is out of range"),
    ],
)
def test_bad_limits_are_refused_and_nothing_is_written(
    user_api,
    project,  # noqa: F811
    world,  # noqa: F811
    value,
    message,
):
    template = user_api.post(url(project), json=body(world)).get_json()
    before = snapshot(project)
    created = user_api.post(url(project), json=body(world, name="Other", **{FIELD: value}))
    changed = user_api.put(url(project, template["id"]), json={**template, FIELD: value})
    for refused in (created, changed):
        assert refused.status_code == 400
        assert refused.get_json() == {"error": message}
    assert snapshot(project) == before


def test_a_backup_carries_the_limit_and_restore_checks_it(user_api, project):  # noqa: F811
    factories.template(project=project, name="Nightly", **{FIELD: 45})
    factories.template(project=project, name="Plain")
    backup = user_api.get(f"/api/project/{project.id}/backup").get_json()
    nightly, plain = backup["templates"]
    assert nightly[FIELD] == 45 and FIELD not in plain  # null is left out, as the original

    restored = user_api.post("/api/projects/restore", json=backup)
    assert restored.status_code == 200, restored.get_json()
    query = select(Template.name, Template.max_task_duration_sec).where(
        Template.project_id == restored.get_json()["id"]
    )
    assert sorted(db.session.execute(query).all()) == [("Nightly", 45), ("Plain", None)]

    nightly[FIELD] = -1
    refused = user_api.post("/api/projects/restore", json=backup)
    assert refused.status_code == 400
    assert refused.get_json()["error"].startswith(
        f"error at templates[0]: {FIELD} must be at least 0"
    )
