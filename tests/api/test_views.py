"""/api/project/{id}/views: CRUD, ordering by position, positions, templates of a view."""

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import Event, ProjectUser, Template, View
from tests import factories


@pytest.fixture
def project(user_api):
    """A project that the `user_api` user manages."""
    return factories.project(members={user_api.user: "manager"})


def url(project, view_id=None, suffix=""):
    base = f"/api/project/{project.id}/views"
    return (base if view_id is None else f"{base}/{view_id}") + suffix


def events_of(project):
    query = select(Event).where(Event.project_id == project.id, Event.object_type == "view")
    return [e.description for e in db.session.scalars(query.order_by(Event.id))]


def count_views():
    return db.session.scalar(select(func.count()).select_from(View))


def test_create_get_update_delete(user_api, project):
    response = user_api.post(url(project), json={"title": "Prod", "position": 3})
    assert response.status_code == 201
    created = response.get_json()
    assert created == {
        "id": created["id"],
        "project_id": project.id,
        "title": "Prod",
        "position": 3,
        "hidden": False,
        "type": "",
        "sort_reverse": False,
    }
    assert user_api.get(url(project, created["id"])).get_json() == created
    update = {"id": created["id"], "title": "Production", "position": 1, "sort_column": "name"}
    assert user_api.put(url(project, created["id"]), json=update).status_code == 204
    fetched = user_api.get(url(project, created["id"])).get_json()
    assert (fetched["title"], fetched["position"], fetched["sort_column"]) == (
        "Production",
        1,
        "name",
    )
    assert user_api.delete(url(project, created["id"])).status_code == 204
    assert user_api.get(url(project, created["id"])).status_code == 404
    assert events_of(project) == [
        "View Prod created",
        "View Production updated",
        "View Production deleted",
    ]


def test_views_are_listed_by_position_and_new_ones_go_last(user_api, project):
    factories.view(project=project, title="second", position=2)
    factories.view(project=project, title="first", position=1)
    created = user_api.post(url(project), json={"title": "third"}).get_json()
    assert created["position"] == 3
    assert [v["title"] for v in user_api.get(url(project)).get_json()] == [
        "first",
        "second",
        "third",
    ]


def test_set_positions(user_api, project):
    a = factories.view(project=project, title="a", position=1)
    b = factories.view(project=project, title="b", position=2)
    response = user_api.post(url(project, suffix="/positions"), json={str(a.id): 2, str(b.id): 1})
    assert response.status_code == 204
    assert [v["title"] for v in user_api.get(url(project)).get_json()] == ["b", "a"]
    foreign = factories.view()
    for bad in ({str(foreign.id): 1}, {"x": 1}, {str(a.id): "first"}):
        assert user_api.post(url(project, suffix="/positions"), json=bad).status_code == 400
    assert [v["title"] for v in user_api.get(url(project)).get_json()] == ["b", "a"]


def test_deleting_a_view_keeps_its_templates(user_api, project):
    view = factories.view(project=project)
    template = factories.template(project=project, view_id=view.id)
    assert user_api.delete(url(project, view.id)).status_code == 204
    assert db.session.get(Template, template.id).view_id is None


def test_templates_of_a_view(user_api, project):
    view = factories.view(project=project)
    factories.template(project=project, name="b", view_id=view.id)
    factories.template(project=project, name="a", view_id=view.id)
    factories.template(project=project, name="other")
    listed = user_api.get(url(project, view.id, "/templates")).get_json()
    assert [t["name"] for t in listed] == ["a", "b"]
    assert user_api.get(url(project, 999999, "/templates")).status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"title": ""},
        {"title": 12},
        {"title": "V", "position": "1"},
        {"title": "V", "position": 1.5},
        {"title": "V", "hidden": "no"},
        {"title": "V", "type": "some"},
        {"title": "V", "sort_column": "color"},
        {"title": "V", "project_id": 999999},
    ],
)
def test_bad_views_are_refused(user_api, project, data):
    response = user_api.post(url(project), json=data)
    assert response.status_code == 400
    assert count_views() == 0


def test_failed_update_changes_nothing(user_api, project):
    view = factories.view(project=project, title="Keep", position=4)
    for data in ({"title": ""}, {"id": view.id + 1, "title": "New"}, {"title": "N", "type": 1}):
        assert user_api.put(url(project, view.id), json=data).status_code == 400
    db.session.expire_all()
    assert (view.title, view.position) == ("Keep", 4)
    assert events_of(project) == []


@pytest.mark.parametrize("raw", ["{not json", "[1]", "3"])
def test_malformed_or_non_object_body_is_400(user_api, project, raw):
    view = factories.view(project=project)
    assert user_api.post(url(project), data=raw, content_type="application/json").status_code == 400
    response = user_api.put(url(project, view.id), data=raw, content_type="application/json")
    assert response.status_code == 400


def test_unknown_and_foreign_views_are_404(app, user_api, project):
    foreign = factories.view()
    assert user_api.get(url(project, 999999)).status_code == 404
    assert user_api.get(url(project, foreign.id)).status_code == 404
    assert user_api.delete(url(project, foreign.id)).status_code == 404
    outsider = factories.api_client(app, factories.user())
    assert outsider.get(url(project)).status_code == 404


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_readers_cannot_write(app, project, role):
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    client = factories.api_client(app, member)
    view = factories.view(project=project, position=1)
    assert client.get(url(project)).status_code == 200
    assert client.post(url(project), json={"title": "V"}).status_code == 403
    assert client.put(url(project, view.id), json={"title": "V"}).status_code == 403
    assert client.post(url(project, suffix="/positions"), json={}).status_code == 403
    assert client.delete(url(project, view.id)).status_code == 403
    assert count_views() == 1 and events_of(project) == []


def test_a_view_with_a_sort_column_shows_it(user_api, project):
    body = {"title": "Sorted", "sort_column": "name", "sort_reverse": True, "type": "all"}
    created = user_api.post(url(project), json=body).get_json()
    assert created == {
        "id": created["id"],
        "project_id": project.id,
        "title": "Sorted",
        "position": 1,
        "hidden": False,
        "type": "all",
        "sort_column": "name",
        "sort_reverse": True,
    }
    assert user_api.get(url(project)).get_json() == [created]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"title": "v", "type": "bad"}, "type must be '' or all"),
        ({"title": "v", "sort_column": "id"}, "sort_column must be one of name"),
        ({"type": "all"}, "title is required"),
        ({"title": "v", "position": "1"}, "position must be an integer"),
        ({"title": "v", "hidden": "yes"}, "hidden must be true or false"),
    ],
)
def test_refusals_name_the_field(user_api, project, body, error):
    response = user_api.post(url(project), json=body)
    assert response.status_code == 400 and response.get_json()["error"] == error
