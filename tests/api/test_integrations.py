"""/api/project/{id}/integrations: integrations, matchers, extracted values and aliases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import (
    Event,
    Integration,
    IntegrationAlias,
    IntegrationExtractValue,
    IntegrationMatcher,
    ProjectUser,
)
from semaphore.services import keys
from semaphore.services.permissions import ProjectAccess
from tests import factories


@pytest.fixture
def project(user_api):
    """A project that the `user_api` user manages."""
    return factories.project(members={user_api.user: "manager"})


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Deploy")


@pytest.fixture
def secret_key(project):
    access = ProjectAccess(project, None, "")
    return keys.create_key(
        access,
        {"name": "hook", "type": "login_password", "login_password": {"password": "s3cret"}},
    )


def url(project, suffix=""):
    return f"/api/project/{project.id}/integrations{suffix}"


def create(api, project, template, **fields):
    body = {"name": "GitHub push", "template_id": template.id, **fields}
    response = api.post(url(project), json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_get_list_update_delete(user_api, project, template, secret_key):
    created = create(
        user_api,
        project,
        template,
        auth_method="github",
        auth_secret_id=secret_key.id,
        searchable=True,
        task_params={"environment": '{"A": "1"}', "params": {"debug": True}},
    )
    assert created == {
        "id": created["id"],
        "name": "GitHub push",
        "project_id": project.id,
        "template_id": template.id,
        "auth_method": "github",
        "auth_secret_id": secret_key.id,
        "auth_header": "",
        "searchable": True,
        "task_params": {"environment": '{"A": "1"}', "params": {"debug": True}},
    }
    one = url(project, f"/{created['id']}")
    assert user_api.get(one).get_json() == created
    assert [i["name"] for i in user_api.get(url(project)).get_json()] == ["GitHub push"]

    update = {"id": created["id"], "name": "Push", "template_id": template.id}
    assert user_api.put(one, json=update).status_code == 204
    fetched = user_api.get(one).get_json()
    assert (fetched["name"], fetched["auth_method"], fetched["task_params"]) == ("Push", "", None)

    assert user_api.delete(one).status_code == 204
    assert user_api.get(one).status_code == 404
    events = db.session.scalars(
        select(Event.description).where(Event.object_type == "integration").order_by(Event.id)
    ).all()
    assert events == [
        "Integration GitHub push created",
        "Integration Push updated",
        "Integration Push deleted",
    ]


def test_list_sorts_by_name(user_api, project, template):
    for name in ("beta", "Alpha", "gamma"):
        create(user_api, project, template, name=name)
    names = [i["name"] for i in user_api.get(url(project, "?sort=name&order=desc")).get_json()]
    assert names == ["gamma", "beta", "Alpha"]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"name": ""}, "name is required"),
        ({"template_id": None}, "template_id is required"),
        ({"auth_method": "magic"}, "auth_method must be one of"),
        ({"auth_method": "token", "auth_header": "X-Token"}, "auth_secret_id is required"),
        ({"auth_method": "hmac"}, "auth_header is required"),
        ({"searchable": "yes"}, "searchable must be true or false"),
        ({"task_params": "debug"}, "task_params must be an object"),
        ({"project_id": 999999}, "Project ID in body and URL must be the same"),
    ],
)
def test_invalid_integrations_are_refused(user_api, project, template, fields, message):
    body = {"name": "x", "template_id": template.id, **fields}
    response = user_api.post(url(project), json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert count(Integration) == 0


def test_references_must_stay_in_the_project(user_api, project, template, secret_key):
    other = factories.project()
    foreign_template = factories.template(project=other)
    foreign_key = factories.key(project=other)
    none_key = factories.key(project=project, type="none")
    cases = [
        {"template_id": foreign_template.id},
        {"auth_method": "github", "auth_secret_id": foreign_key.id},
        {"auth_method": "github", "auth_secret_id": none_key.id},
    ]
    for fields in cases:
        response = user_api.post(
            url(project), json={"name": "x", "template_id": template.id, **fields}
        )
        assert response.status_code == 400, fields
    assert count(Integration) == 0
    foreign = Integration(project_id=other.id, name="theirs", template_id=foreign_template.id)
    db.session.add(foreign)
    db.session.commit()
    assert user_api.get(url(project, f"/{foreign.id}")).status_code == 404
    assert user_api.delete(url(project, f"/{foreign.id}")).status_code == 404
    assert user_api.post(url(project, f"/{foreign.id}/aliases")).status_code == 404


def _owner(project):
    owner = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=owner.id, role="owner"))
    db.session.commit()
    return owner


def test_a_key_used_by_an_integration_cannot_be_deleted(user_api, project, template, secret_key):
    create(user_api, project, template, auth_method="github", auth_secret_id=secret_key.id)
    response = user_api.delete(f"/api/project/{project.id}/keys/{secret_key.id}")
    assert response.status_code == 400


# --- matchers and values -------------------------------------------------------------------------


def test_matchers_crud(user_api, project, template):
    integration = create(user_api, project, template)
    base = url(project, f"/{integration['id']}/matchers")
    body = {
        "name": "push only",
        "match_type": "header",
        "method": "equals",
        "key": "X-GitHub-Event",
        "value": "push",
    }
    response = user_api.post(base, json=body)
    assert response.status_code == 200  # the original's status for a new matcher
    matcher = response.get_json()
    assert matcher == {"id": matcher["id"], "integration_id": integration["id"], **body}
    assert user_api.get(base).get_json() == [matcher]
    assert user_api.get(f"{base}/{matcher['id']}").get_json() == matcher
    assert user_api.get(f"{base}/{matcher['id']}/refs").get_json() == {"integrations": []}

    json_body = {
        "name": "main branch",
        "match_type": "body",
        "body_data_type": "json",
        "method": "contains",
        "key": "ref",
        "value": "main",
    }
    assert user_api.put(f"{base}/{matcher['id']}", json=json_body).status_code == 204
    assert user_api.get(f"{base}/{matcher['id']}").get_json()["body_data_type"] == "json"
    refs = user_api.get(url(project, f"/{integration['id']}/refs")).get_json()
    assert refs == {"matchers": [{"id": matcher["id"], "name": "main branch"}], "values": []}

    assert user_api.delete(f"{base}/{matcher['id']}").status_code == 204
    assert user_api.get(f"{base}/{matcher['id']}").status_code == 404
    assert count(IntegrationMatcher) == 0


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"name": ""}, "name"),
        ({"match_type": "cookie"}, "match_type"),
        ({"match_type": "body"}, "body_data_type"),
        ({"method": "regex"}, "method"),
        ({"key": ""}, "key"),
        ({"value": ""}, "value"),
    ],
)
def test_invalid_matchers_are_refused(user_api, project, template, fields, field):
    integration = create(user_api, project, template)
    body = {"name": "m", "match_type": "header", "key": "X-A", "value": "b", **fields}
    response = user_api.post(url(project, f"/{integration['id']}/matchers"), json=body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]
    assert count(IntegrationMatcher) == 0


def test_a_string_body_matcher_needs_no_key(user_api, project, template):
    integration = create(user_api, project, template)
    body = {"name": "m", "match_type": "body", "body_data_type": "string", "value": "deploy"}
    response = user_api.post(url(project, f"/{integration['id']}/matchers"), json=body)
    assert response.status_code == 200
    assert response.get_json()["method"] == "equals"


def test_values_crud(user_api, project, template):
    integration = create(user_api, project, template)
    base = url(project, f"/{integration['id']}/values")
    body = {
        "name": "branch",
        "value_source": "body",
        "body_data_type": "json",
        "key": "ref",
        "variable": "BRANCH",
    }
    response = user_api.post(base, json=body)
    assert response.status_code == 201
    value = response.get_json()
    assert value == {
        "id": value["id"],
        "integration_id": integration["id"],
        **body,
        "variable_type": "environment",
    }
    assert user_api.get(base).get_json() == [value]
    assert user_api.get(f"{base}/{value['id']}/refs").get_json() == {"integrations": []}
    header = {
        "name": "event",
        "value_source": "header",
        "key": "X-GitHub-Event",
        "variable": "limit",
        "variable_type": "task",
    }
    assert user_api.put(f"{base}/{value['id']}", json=header).status_code == 204
    fetched = user_api.get(f"{base}/{value['id']}").get_json()
    assert "body_data_type" not in fetched and fetched["variable_type"] == "task"
    assert user_api.delete(f"{base}/{value['id']}").status_code == 204
    assert count(IntegrationExtractValue) == 0


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"value_source": ""}, "value_source"),
        ({"value_source": "query"}, "value_source"),
        ({"value_source": "body", "body_data_type": None}, "body_data_type"),
        ({"key": ""}, "key"),
        ({"variable": ""}, "variable"),
        ({"variable_type": "secret"}, "variable_type"),
    ],
)
def test_invalid_values_are_refused(user_api, project, template, fields, field):
    integration = create(user_api, project, template)
    body = {"name": "v", "value_source": "header", "key": "X-A", "variable": "A", **fields}
    response = user_api.post(url(project, f"/{integration['id']}/values"), json=body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]


def test_children_of_another_integration_are_not_found(user_api, project, template):
    first = create(user_api, project, template, name="one")
    second = create(user_api, project, template, name="two")
    body = {"name": "m", "match_type": "header", "key": "X-A", "value": "b"}
    matcher = user_api.post(url(project, f"/{first['id']}/matchers"), json=body).get_json()
    other = url(project, f"/{second['id']}/matchers/{matcher['id']}")
    assert user_api.get(other).status_code == 404
    assert user_api.put(other, json=body).status_code == 404
    assert user_api.delete(other).status_code == 404
    assert count(IntegrationMatcher) == 1


# --- aliases -------------------------------------------------------------------------------------


def test_project_and_integration_aliases(user_api, project, template, config):
    integration = create(user_api, project, template)
    project_base = url(project, "/aliases")
    own_base = url(project, f"/{integration['id']}/aliases")

    response = user_api.post(project_base)
    assert response.status_code == 200
    project_alias = response.get_json()
    stored = db.session.get(IntegrationAlias, project_alias["id"])
    assert len(stored.alias) == 16 and stored.alias.isalnum() and stored.alias.islower()
    assert stored.integration_id is None
    assert project_alias["url"] == f"http://localhost:3000/api/integrations/{stored.alias}"

    own = user_api.post(own_base).get_json()
    assert db.session.get(IntegrationAlias, own["id"]).integration_id == integration["id"]
    assert user_api.get(project_base).get_json() == [project_alias]
    assert user_api.get(own_base).get_json() == [own]

    # An alias is deleted only through the list it belongs to.
    assert user_api.delete(f"{own_base}/{project_alias['id']}").status_code == 404
    assert user_api.delete(f"{own_base}/{own['id']}").status_code == 204
    assert user_api.delete(f"{project_base}/{project_alias['id']}").status_code == 204
    assert count(IntegrationAlias) == 0


@pytest.mark.parametrize("config_overrides", [{"web_host": "https://ci.example.com/"}])
def test_alias_urls_use_web_host(user_api, project, template):
    alias = user_api.post(url(project, "/aliases")).get_json()
    assert alias["url"].startswith("https://ci.example.com/api/integrations/")


def test_deleting_an_integration_removes_its_children(user_api, project, template):
    integration = create(user_api, project, template)
    base = url(project, f"/{integration['id']}")
    user_api.post(
        f"{base}/matchers", json={"name": "m", "match_type": "header", "key": "A", "value": "b"}
    )
    user_api.post(
        f"{base}/values", json={"name": "v", "value_source": "header", "key": "A", "variable": "A"}
    )
    user_api.post(f"{base}/aliases")
    assert user_api.delete(base).status_code == 204
    for model in (IntegrationMatcher, IntegrationExtractValue, IntegrationAlias):
        assert count(model) == 0, model


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_read_only_members_may_read_but_not_change(app, project, template, role):
    member = factories.user()
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    owner = _owner(project)
    integration = create(factories.api_client(app, owner), project, template)
    api = factories.api_client(app, member)
    assert api.get(url(project)).status_code == 200
    assert api.get(url(project, "/aliases")).status_code == 200
    assert api.post(url(project), json={"name": "x", "template_id": template.id}).status_code == 403
    assert api.post(url(project, "/aliases")).status_code == 403
    assert api.post(url(project, f"/{integration['id']}/aliases")).status_code == 403
    assert api.delete(url(project, f"/{integration['id']}")).status_code == 403
    assert count(Integration) == 1 and count(IntegrationAlias) == 0
