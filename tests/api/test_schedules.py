"""/api/project/{id}/schedules: CRUD, cron validation, switching on and off; next_run."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from semaphore.errors import ValidationError
from semaphore.extensions import db
from semaphore.models import Event, ProjectUser, Schedule
from semaphore.schemas import cron as cron_parser
from semaphore.services.schedules import cron as schedule_times
from tests import factories


@pytest.fixture
def project(user_api):
    """A project that the `user_api` user manages."""
    return factories.project(members={user_api.user: "manager"})


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Nightly")


def url(project, schedule_id=None, suffix=""):
    base = f"/api/project/{project.id}/schedules"
    return (base if schedule_id is None else f"{base}/{schedule_id}") + suffix


def events_of(project):
    query = select(Event).where(Event.project_id == project.id, Event.object_type == "schedule")
    return [e.description for e in db.session.scalars(query.order_by(Event.id))]


def count_schedules():
    return db.session.scalar(select(func.count()).select_from(Schedule))


def test_create_get_update_delete(user_api, project, template):
    data = {"template_id": template.id, "cron_format": "*/5 * * * *", "name": "Often"}
    response = user_api.post(url(project), json=data)
    assert response.status_code == 201
    created = response.get_json()
    assert created["template_id"] == template.id and created["project_id"] == project.id
    assert created["cron_format"] == "*/5 * * * *" and created["name"] == "Often"
    assert created["active"] is False and created["type"] == ""
    assert user_api.get(url(project, created["id"])).get_json() == created

    stored = db.session.get(Schedule, created["id"])
    stored.last_commit_hash = "abc123"
    db.session.commit()
    repository = factories.repository(project=project)
    update = {
        **data,
        "id": created["id"],
        "active": True,
        "cron_format": "@daily",
        "repository_id": repository.id,
    }
    assert user_api.put(url(project, created["id"]), json=update).status_code == 204
    fetched = user_api.get(url(project, created["id"])).get_json()
    assert fetched["active"] is True and fetched["cron_format"] == "@daily"
    assert fetched["repository_id"] == repository.id
    assert db.session.get(Schedule, created["id"]).last_commit_hash is None

    assert user_api.delete(url(project, created["id"])).status_code == 204
    assert user_api.get(url(project, created["id"])).status_code == 404
    assert events_of(project) == [
        "Schedule Often created",
        "Schedule Often updated",
        "Schedule Often deleted",
    ]


def test_lists(user_api, project, template):
    other = factories.template(project=project, name="Other")
    first = factories.schedule(project=project, template_id=template.id)
    factories.schedule(project=project, template_id=other.id)
    factories.schedule()  # another project's
    listed = user_api.get(url(project)).get_json()
    assert [(s["id"], s["tpl_name"]) for s in listed][0] == (first.id, "Nightly")
    assert [s["tpl_name"] for s in listed] == ["Nightly", "Other"]
    of_template = user_api.get(
        f"/api/project/{project.id}/templates/{template.id}/schedules"
    ).get_json()
    assert [s["id"] for s in of_template] == [first.id]
    missing = user_api.get(f"/api/project/{project.id}/templates/999999/schedules")
    assert missing.status_code == 404


def test_set_active(user_api, project, template):
    schedule = factories.schedule(project=project, template_id=template.id)
    response = user_api.put(url(project, schedule.id, "/active"), json={"active": True})
    assert response.status_code == 204
    assert db.session.get(Schedule, schedule.id).active is True
    for bad in ({}, {"active": "yes"}):
        assert user_api.put(url(project, schedule.id, "/active"), json=bad).status_code == 400
    assert db.session.get(Schedule, schedule.id).active is True


def test_run_at_schedule(user_api, project, template):
    data = {"template_id": template.id, "type": "run_at", "run_at": "2030-01-02T03:04:05Z"}
    created = user_api.post(url(project), json=data).get_json()
    assert created["run_at"].startswith("2030-01-02T03:04:05")
    assert user_api.post(url(project), json={**data, "run_at": None}).status_code == 400
    assert user_api.post(url(project), json={**data, "run_at": "soon"}).status_code == 400


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("", "Cron: empty spec string"),
        ("* * * *", "Cron: expected exactly 5 fields, found 4: [* * * *]"),
        ("0 0 * * * *", "Cron: expected exactly 5 fields"),
        ("60 * * * *", "Cron: end of range (60) above maximum (59): 60"),
        ("* * * * mon-x", "Cron: failed to parse int from x"),
        ("@fortnightly", "Cron: unrecognized descriptor: @fortnightly"),
        ("@every 1d", 'Cron: failed to parse duration @every 1d: time: unknown unit "d"'),
        ("CRON_TZ=Mars/Olympus 0 0 * * *", "Cron: provided bad location Mars/Olympus"),
    ],
)
def test_bad_cron_is_refused(user_api, project, template, cron, message):
    data = {"template_id": template.id, "cron_format": cron}
    response = user_api.post(url(project), json=data)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(message)
    validated = user_api.post(url(project, suffix="/validate"), json={"cron_format": cron})
    assert validated.status_code == 400
    assert validated.get_json()["error"].startswith(message)
    assert count_schedules() == 0


def test_validate_accepts_good_cron(user_api, project):
    response = user_api.post(url(project, suffix="/validate"), json={"cron_format": "0 3 * * 1"})
    assert response.status_code == 200 and response.get_data() == b""


@pytest.mark.parametrize(
    "data",
    [
        {"template_id": None, "cron_format": "* * * * *"},
        {"template_id": "one", "cron_format": "* * * * *"},
        {"template_id": 999999, "cron_format": "* * * * *"},
        {"cron_format": 5},
        {"cron_format": "* * * * *", "active": "true"},
        {"cron_format": "* * * * *", "name": ["x"]},
        {"cron_format": "* * * * *", "type": "later"},
        {"cron_format": "* * * * *", "repository_id": 999999},
        {"cron_format": "* * * * *", "task_params": []},
        {"cron_format": "* * * * *", "project_id": 999999},
    ],
)
def test_bad_schedules_are_refused(user_api, project, template, data):
    body = {"template_id": template.id, **data}
    assert user_api.post(url(project), json=body).status_code == 400
    assert count_schedules() == 0


def test_references_to_another_project_are_refused(user_api, project, template):
    other = factories.project()
    foreign_template = factories.template(project=other)
    foreign_repository = factories.repository(project=other)
    for data in (
        {"template_id": foreign_template.id},
        {"template_id": template.id, "repository_id": foreign_repository.id},
    ):
        response = user_api.post(url(project), json={**data, "cron_format": "* * * * *"})
        assert response.status_code == 400
        assert "does not exist in this project" in response.get_json()["error"]
    assert count_schedules() == 0


def test_failed_update_changes_nothing(user_api, project, template):
    schedule = factories.schedule(project=project, template_id=template.id, name="Keep")
    bad = [
        {"template_id": template.id, "cron_format": "bad"},
        {"template_id": template.id, "cron_format": "* * * * *", "id": schedule.id + 1},
        {"template_id": factories.template().id, "cron_format": "* * * * *"},
    ]
    for data in bad:
        assert user_api.put(url(project, schedule.id), json=data).status_code == 400
    db.session.expire_all()
    assert (schedule.name, schedule.cron_format) == ("Keep", "*/5 * * * *")
    assert events_of(project) == []


@pytest.mark.parametrize("raw", ["{not json", "[]", "null"])
def test_malformed_or_non_object_body_is_400(user_api, project, template, raw):
    schedule = factories.schedule(project=project, template_id=template.id)
    assert user_api.post(url(project), data=raw, content_type="application/json").status_code == 400
    response = user_api.put(url(project, schedule.id), data=raw, content_type="application/json")
    assert response.status_code == 400


def test_unknown_and_foreign_schedules_are_404(app, user_api, project):
    foreign = factories.schedule()
    assert user_api.get(url(project, 999999)).status_code == 404
    assert user_api.get(url(project, foreign.id)).status_code == 404
    assert user_api.delete(url(project, foreign.id)).status_code == 404
    outsider = factories.api_client(app, factories.user())
    assert outsider.get(url(project)).status_code == 404


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_readers_cannot_write(app, project, template, role):
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    client = factories.api_client(app, member)
    schedule = factories.schedule(project=project, template_id=template.id)
    data = {"template_id": template.id, "cron_format": "* * * * *"}
    assert client.get(url(project)).status_code == 200
    assert client.post(url(project), json=data).status_code == 403
    assert client.put(url(project, schedule.id), json=data).status_code == 403
    assert (
        client.put(url(project, schedule.id, "/active"), json={"active": True}).status_code == 403
    )
    assert client.delete(url(project, schedule.id)).status_code == 403
    assert count_schedules() == 1 and events_of(project) == []


# --- the cron parser, without a database ---------------------------------------------------------

AFTER = datetime(2024, 1, 1, 12, 0, 30, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("*/5 * * * *", datetime(2024, 1, 1, 12, 5, tzinfo=UTC)),
        ("5/10 * * * *", datetime(2024, 1, 1, 12, 5, tzinfo=UTC)),
        ("0 0 * JAN tue-fri", datetime(2024, 1, 2, tzinfo=UTC)),
        ("0 0 1 * mon", datetime(2024, 1, 8, tzinfo=UTC)),  # day of month OR day of week
        ("@hourly", datetime(2024, 1, 1, 13, tzinfo=UTC)),
        ("@daily", datetime(2024, 1, 2, tzinfo=UTC)),
        ("@midnight", datetime(2024, 1, 2, tzinfo=UTC)),
        ("@weekly", datetime(2024, 1, 7, tzinfo=UTC)),
        ("@monthly", datetime(2024, 2, 1, tzinfo=UTC)),
        ("@yearly", datetime(2025, 1, 1, tzinfo=UTC)),
        ("@annually", datetime(2025, 1, 1, tzinfo=UTC)),
        ("@every 1h30m", AFTER.replace(microsecond=0) + timedelta(hours=1, minutes=30)),
        ("@every 300ms", AFTER + timedelta(seconds=1)),
        ("CRON_TZ=Europe/Berlin 0 9 * * *", datetime(2024, 1, 2, 8, tzinfo=UTC)),
        ("TZ=America/New_York 0 9 * * *", datetime(2024, 1, 1, 14, tzinfo=UTC)),
        ("0 0 30 2 *", None),
    ],
)
def test_next_run(cron, expected):
    cron_parser.validate_cron(cron)
    schedule = Schedule(cron_format=cron, type="")
    assert schedule_times.next_run(schedule, AFTER, zone=UTC) == expected


def test_next_run_reads_cron_in_the_given_zone(app):
    schedule = Schedule(cron_format="0 9 * * *", type="")
    berlin = schedule_times.next_run(schedule, AFTER, zone=ZoneInfo("Europe/Berlin"))
    assert berlin == datetime(2024, 1, 2, 8, tzinfo=UTC)
    # Without a zone given: schedule.timezone's, UTC by default.
    assert schedule_times.next_run(schedule, AFTER) == datetime(2024, 1, 2, 9, tzinfo=UTC)


def test_next_run_of_a_one_off_schedule():
    at = datetime(2030, 1, 1, tzinfo=UTC)
    schedule = Schedule(type="run_at", run_at=at, cron_format="")
    assert schedule_times.next_run(schedule, AFTER) == at
    assert schedule_times.next_run(schedule, at) is None


@pytest.mark.parametrize(
    "cron",
    [
        "",
        "* * *",
        "61 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "1-2-3 * * * *",
        "*/0 * * * *",
        "1/2/3 * * * *",
        "5-1 * * * *",
        "@every",
        "@every 5x",
        "TZ=Nowhere * * * * *",
    ],
)
def test_validate_cron_refuses(cron):
    with pytest.raises(ValidationError, match="^Cron: "):
        cron_parser.validate_cron(cron)
