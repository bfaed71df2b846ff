"""POST|GET|OPTIONS /api/integrations/{alias}: the public webhook URL, and its delivery log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from sqlalchemy import func, select

from semaphore.extensions import db
from semaphore.models import (
    IntegrationAlias,
    IntegrationDelivery,
    IntegrationDeliveryOutcome,
    ProjectUser,
    Task,
)
from semaphore.services import integrations, keys
from semaphore.services.integrations import deliveries as integration_deliveries
from semaphore.services.permissions import ProjectAccess
from tests import factories

SECRET = "It's a Secret to Everybody"
PUSH = {"ref": "refs/heads/main", "after": "abc123", "repository": {"name": "site", "id": 42}}


@pytest.fixture
def project(app):
    return factories.project(name="Web")


@pytest.fixture
def system(project):
    return ProjectAccess(project, None, "")


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Deploy site")


@pytest.fixture
def secret_key(system):
    return keys.create_key(
        system,
        {
            "name": "webhook secret",
            "type": "login_password",
            "login_password": {"login": "hooks", "password": SECRET},
        },
    )


def integration(system, template, *, matchers=(), values=(), alias=True, **fields):
    """An integration with its matchers and values; returns (integration, its alias or None)."""
    row = integrations.create_integration(
        system, {"name": fields.pop("name", "hook"), "template_id": template.id, **fields}
    )
    for matcher in matchers:
        integrations.create_matcher(system, row.id, {"name": "m", **matcher})
    for value in values:
        integrations.create_value(system, row.id, {"name": "v", **value})
    own = integrations.create_alias(system, row.id).alias if alias else None
    return row, own


def github_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(api, alias, body: bytes = b"", headers=None, method="POST"):
    response = api.open(method, f"/api/integrations/{alias}", data=body, headers=headers or {})
    assert response.status_code == 204
    assert response.get_data() == b""
    return response


def tasks():
    return db.session.scalars(select(Task).order_by(Task.id)).all()


def outcomes():
    query = select(IntegrationDeliveryOutcome).order_by(IntegrationDeliveryOutcome.id)
    return [(o.integration_name, o.result, o.reason) for o in db.session.scalars(query)]


def deliveries():
    return db.session.scalars(select(IntegrationDelivery).order_by(IntegrationDelivery.id)).all()


BRANCH_VALUES = (
    {"value_source": "body", "body_data_type": "json", "key": "ref", "variable": "BRANCH"},
    {"value_source": "body", "body_data_type": "json", "key": "repository.id", "variable": "REPO"},
    {"value_source": "header", "key": "X-GitHub-Event", "variable": "EVENT"},
)


# --- the acceptance points -----------------------------------------------------------------------


def test_a_github_signed_request_starts_the_task_with_the_extracted_values(
    api, system, template, secret_key
):
    hook, alias = integration(
        system,
        template,
        auth_method="github",
        auth_secret_id=secret_key.id,
        values=BRANCH_VALUES,
    )
    body = json.dumps(PUSH).encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": github_signature(body),
        "Content-Type": "application/json",
    }
    deliver(api, alias, body, headers)

    [task] = tasks()
    assert (task.template_id, task.integration_id, task.user_id) == (template.id, hook.id, None)
    assert task.status == "waiting"
    assert json.loads(task.environment) == {
        "BRANCH": "refs/heads/main",
        "REPO": "42",
        "EVENT": "push",
    }
    [delivery] = deliveries()
    assert (delivery.method, delivery.alias_kind, delivery.body_size) == (
        "POST",
        "integration",
        len(body),
    )
    assert delivery.remote_addr == "127.0.0.1"
    assert outcomes() == [("hook", "started", "")]
    assert db.session.scalar(select(IntegrationDeliveryOutcome.task_id)) == task.id


def test_a_wrong_signature_starts_nothing_and_the_delivery_says_why(
    api, system, template, secret_key
):
    _, alias = integration(system, template, auth_method="github", auth_secret_id=secret_key.id)
    body = json.dumps(PUSH).encode()
    deliver(api, alias, body, {"X-Hub-Signature-256": github_signature(body, "guess")})
    deliver(api, alias, body)
    tampered = body.replace(b"main", b"evil")
    deliver(api, alias, tampered, {"X-Hub-Signature-256": github_signature(body)})
    assert tasks() == []
    assert outcomes() == [
        ("hook", "refused", "authentication failed: bad signature in X-Hub-Signature-256"),
        ("hook", "refused", "authentication failed: no X-Hub-Signature-256 header"),
        ("hook", "refused", "authentication failed: bad signature in X-Hub-Signature-256"),
    ]


def test_a_non_matching_body_starts_nothing_and_names_the_matcher(api, system, template):
    integration(
        system,
        template,
        searchable=True,
        alias=False,
        matchers=(
            {"match_type": "header", "key": "X-GitHub-Event", "value": "push"},
            {
                "match_type": "body",
                "body_data_type": "json",
                "key": "ref",
                "value": "refs/heads/main",
            },
        ),
    )
    project_alias = integrations.create_alias(system).alias
    deliver(
        api,
        project_alias,
        json.dumps({"ref": "refs/heads/dev"}).encode(),
        {"X-GitHub-Event": "push"},
    )
    deliver(api, project_alias, json.dumps(PUSH).encode(), {"X-GitHub-Event": "ping"})
    assert tasks() == []
    assert outcomes() == [
        (
            "hook",
            "skipped",
            'matcher 2 (body json ref equals "refs/heads/main") did not match: '
            "got 'refs/heads/dev'",
        ),
        (
            "hook",
            "skipped",
            "matcher 1 (header X-GitHub-Event equals \"push\") did not match: got 'ping'",
        ),
    ]
    deliver(api, project_alias, json.dumps(PUSH).encode(), {"X-GitHub-Event": "push"})
    assert len(tasks()) == 1


def test_a_project_alias_runs_every_matching_integration_on_the_same_body(
    api, system, template, secret_key
):
    other_template = factories.template(project=system.project, name="Notify")
    on_push = ({"match_type": "header", "key": "X-GitHub-Event", "value": "push"},)
    values = (
        {"value_source": "body", "body_data_type": "json", "key": "after", "variable": "SHA"},
    )
    first, _ = integration(
        system,
        template,
        name="deploy",
        searchable=True,
        alias=False,
        auth_method="github",
        auth_secret_id=secret_key.id,
        matchers=on_push,
        values=values,
    )
    second, _ = integration(
        system,
        other_template,
        name="notify",
        searchable=True,
        alias=False,
        auth_method="github",
        auth_secret_id=secret_key.id,
        matchers=on_push,
        values=values,
    )
    integration(system, template, name="not searchable", alias=False, matchers=on_push)
    project_alias = integrations.create_alias(system).alias
    body = json.dumps(PUSH).encode()
    deliver(
        api,
        project_alias,
        body,
        {"X-GitHub-Event": "push", "X-Hub-Signature-256": github_signature(body)},
    )

    started = tasks()
    assert [(t.integration_id, t.template_id) for t in started] == [
        (first.id, template.id),
        (second.id, other_template.id),
    ]
    assert [json.loads(t.environment) for t in started] == [{"SHA": "abc123"}] * 2
    [delivery] = deliveries()
    assert delivery.alias_kind == "project"
    assert [(name, result) for name, result, _ in outcomes()] == [
        ("deploy", "started"),
        ("notify", "started"),
    ]


# --- authentication methods ----------------------------------------------------------------------


def test_token_authentication(api, system, template, secret_key):
    _, alias = integration(
        system,
        template,
        auth_method="token",
        auth_secret_id=secret_key.id,
        auth_header="X-Gitlab-Token",
    )
    deliver(api, alias, b"{}", {"X-Gitlab-Token": "nope"})
    deliver(api, alias, b"{}")
    deliver(api, alias, b"{}", {"X-Gitlab-Token": SECRET})
    assert len(tasks()) == 1
    assert [reason for _, _, reason in outcomes()] == [
        "authentication failed: wrong token in X-Gitlab-Token",
        "authentication failed: no X-Gitlab-Token header",
        "",
    ]


def test_hmac_authentication_reads_a_bare_hex_digest(api, system, template, secret_key):
    _, alias = integration(
        system,
        template,
        auth_method="hmac",
        auth_secret_id=secret_key.id,
        auth_header="X-Signature",
    )
    body = b'{"event": "deploy"}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    deliver(api, alias, body, {"X-Signature": "sha256=" + digest})
    deliver(api, alias, body, {"X-Signature": digest})
    assert [result for _, result, _ in outcomes()] == ["refused", "started"]


def test_bitbucket_signature(api, system, template, secret_key):
    _, alias = integration(system, template, auth_method="bitbucket", auth_secret_id=secret_key.id)
    body = b'{"push": {}}'
    deliver(api, alias, body, {"X-Hub-Signature": github_signature(body)})
    assert [result for _, result, _ in outcomes()] == ["started"]


def test_basic_authentication_checks_login_and_password(api, system, template, secret_key):
    _, alias = integration(system, template, auth_method="basic", auth_secret_id=secret_key.id)

    def basic(login, password):
        return {
            "Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
        }

    deliver(api, alias, b"x", basic("hooks", "wrong"))
    deliver(api, alias, b"x", basic("admin", SECRET))
    deliver(api, alias, b"x", {"Authorization": "Basic !!!"})
    deliver(api, alias, b"x")
    deliver(api, alias, b"x", basic("hooks", SECRET))
    assert [reason.removeprefix("authentication failed: ") for _, _, reason in outcomes()] == [
        "wrong basic auth login or password",
        "wrong basic auth login or password",
        "malformed basic Authorization header",
        "no basic Authorization header",
        "",
    ]
    assert len(tasks()) == 1


@pytest.mark.parametrize("method", ["", "none"])
def test_no_authentication(api, system, template, method):
    _, alias = integration(system, template, auth_method=method)
    deliver(api, alias, b"anything")
    assert len(tasks()) == 1


def test_a_secret_key_without_password_refuses_everything(api, system, template):
    # Keys made through the API always have a password; one restored empty must not let an
    # empty token through (the original compares against "").
    empty = factories.key(project=system.project, type="login_password")
    _, alias = integration(
        system, template, auth_method="token", auth_secret_id=empty.id, auth_header="X-Token"
    )
    deliver(api, alias, b"{}", {"X-Token": ""})
    deliver(api, alias, b"{}")
    assert tasks() == []
    assert {reason for _, _, reason in outcomes()} == {
        "authentication failed: the integration's secret key has no password"
    }


def test_secret_headers_are_not_stored(api, system, template, secret_key):
    _, alias = integration(
        system, template, auth_method="token", auth_secret_id=secret_key.id, auth_header="X-Deliver"
    )
    body = b'{"a": 1}'
    deliver(
        api,
        alias,
        body,
        {
            "X-Deliver": SECRET,
            "Authorization": "Bearer top-secret-bearer",
            "X-Hub-Signature-256": github_signature(body),
            "Cookie": "session=top-secret-cookie",
            "X-GitHub-Event": "push",
        },
    )
    [delivery] = deliveries()
    stored = json.dumps([delivery.headers, delivery.body_excerpt, delivery.note])
    for secret in (SECRET, "top-secret-bearer", "top-secret-cookie", github_signature(body)):
        assert secret not in stored
    headers = dict(json.loads(delivery.headers))
    assert headers["X-Github-Event"] == "push"
    assert headers["X-Deliver"] == f"(redacted, {len(SECRET)} characters)"
    assert delivery.body_excerpt == '{"a": 1}'


# --- selection and matching rules ----------------------------------------------------------------


def test_a_project_alias_never_fires_an_integration_without_matchers(api, system, template):
    integration(system, template, searchable=True, alias=False)
    deliver(api, integrations.create_alias(system).alias, b"{}")
    assert tasks() == []
    assert outcomes() == [
        (
            "hook",
            "skipped",
            "no matchers: an integration reached through a project alias needs at least one",
        )
    ]


def test_an_integration_alias_needs_no_matchers_but_honours_them(api, system, template):
    _, plain = integration(system, template, name="plain")
    _, filtered = integration(
        system,
        template,
        name="filtered",
        matchers=({"match_type": "header", "key": "X-GitHub-Event", "value": "push"},),
    )
    deliver(api, plain, b"{}")
    deliver(api, filtered, b"{}", {"X-GitHub-Event": "ping"})
    deliver(api, filtered, b"{}", {"X-GitHub-Event": "push"})
    assert [result for _, result, _ in outcomes()] == ["started", "skipped", "started"]


def test_a_searchable_integration_does_not_answer_on_its_own_alias(api, system, template):
    _, alias = integration(system, template, searchable=True)
    deliver(api, alias, b"{}")
    assert tasks() == []
    assert outcomes() == [
        (
            "hook",
            "skipped",
            "a searchable integration answers only on project aliases, not on its own",
        )
    ]


def test_a_malformed_json_body_starts_nothing_and_is_recorded(api, system, template):
    _, alias = integration(
        system,
        template,
        matchers=({"match_type": "body", "body_data_type": "json", "key": "ref", "value": "main"},),
    )
    deliver(api, alias, b'{"ref": "main"', {"Content-Type": "application/json"})
    deliver(api, alias, b"\xff\xfe\x00garbage")
    assert tasks() == []
    reasons = [reason for _, _, reason in outcomes()]
    assert (
        reasons
        == ['matcher 1 (body json ref equals "main") did not match: got the body is not JSON'] * 2
    )
    assert "\x00" not in deliveries()[1].body_excerpt


def test_matcher_methods_and_json_paths(api, system, template):
    cases = [
        ({"method": "unequals", "key": "ref", "value": "refs/heads/dev"}, True),
        ({"method": "contains", "key": "ref", "value": "heads"}, True),
        ({"method": "equals", "key": "repository.id", "value": "42"}, True),
        ({"method": "equals", "key": "commits.[1].id", "value": "b"}, True),
        ({"method": "equals", "key": "missing", "value": "<nil>"}, True),
        ({"method": "equals", "key": "commits.[5].id", "value": "b"}, False),
    ]
    body = json.dumps({**PUSH, "commits": [{"id": "a"}, {"id": "b"}]}).encode()
    for matcher, fires in cases:
        _, alias = integration(
            system,
            template,
            matchers=({"match_type": "body", "body_data_type": "json", **matcher},),
        )
        before = len(tasks())
        deliver(api, alias, body)
        assert len(tasks()) == before + fires, matcher


def test_string_body_matcher_and_value(api, system, template):
    _, alias = integration(
        system,
        template,
        matchers=(
            {"match_type": "body", "body_data_type": "string", "method": "contains", "value": "go"},
        ),
        values=({"value_source": "body", "body_data_type": "string", "variable": "PAYLOAD"},),
    )
    deliver(api, alias, b"stop")
    deliver(api, alias, b"let's go")
    [task] = tasks()
    assert json.loads(task.environment) == {"PAYLOAD": "let's go"}


def test_task_values_become_task_params_over_the_integrations_defaults(api, system, template):
    _, alias = integration(
        system,
        template,
        task_params={
            "environment": '{"STAGE": "prod", "BRANCH": "x"}',
            "params": {"diff": True},
            "message": "from GitHub",
            "git_branch": "release",
            "arguments": '["--check"]',
        },
        values=(
            {"value_source": "body", "body_data_type": "json", "key": "ref", "variable": "BRANCH"},
            {
                "value_source": "header",
                "key": "X-Debug",
                "variable": "debug",
                "variable_type": "task",
            },
            {
                "value_source": "body",
                "body_data_type": "json",
                "key": "hosts",
                "variable": "limit",
                "variable_type": "task",
            },
            {
                "value_source": "body",
                "body_data_type": "json",
                "key": "missing",
                "variable": "GONE",
            },
        ),
    )
    deliver(
        api, alias, json.dumps({"ref": "main", "hosts": ["web1"]}).encode(), {"X-Debug": "true"}
    )
    [task] = tasks()
    assert json.loads(task.environment) == {"STAGE": "prod", "BRANCH": "main"}
    assert task.params == {"diff": True, "debug": True, "limit": ["web1"]}
    assert (task.message, task.git_branch, json.loads(task.arguments)) == (
        "from GitHub",
        "release",
        ["--check"],
    )


def test_params_the_task_refuses_are_recorded(api, system, template):
    _, alias = integration(
        system,
        template,
        values=(
            {
                "value_source": "header",
                "key": "X-Debug",
                "variable": "debug",
                "variable_type": "task",
            },
        ),
    )
    deliver(api, alias, b"{}", {"X-Debug": "maybe"})
    assert tasks() == []
    [(_, result, reason)] = outcomes()
    assert result == "failed" and reason.startswith("the task was not started: params.debug")


@pytest.mark.parametrize("method", ["GET", "OPTIONS", "HEAD"])
def test_other_methods_are_deliveries_too(api, system, template, method):
    _, alias = integration(system, template)
    deliver(api, alias, method=method)
    assert len(tasks()) == 1
    assert deliveries()[0].method == method


def test_an_unknown_alias_answers_204_and_records_nothing(api, system, template):
    integration(system, template)
    deliver(api, "doesnotexist1234", b"{}")
    deliver(api, "x" * 300, b"{}")
    assert tasks() == [] and deliveries() == []


def test_a_project_alias_with_nothing_searchable_is_still_recorded(api, system, template):
    deliver(api, integrations.create_alias(system).alias, b"{}")
    [delivery] = deliveries()
    assert delivery.note == "no searchable integration in this project" and outcomes() == []


def test_a_body_over_the_limit_is_not_read(app, api, system, template):
    app.config["MAX_CONTENT_LENGTH"] = 64
    _, alias = integration(system, template)
    deliver(api, alias, b"x" * 65)
    assert tasks() == []
    [delivery] = deliveries()
    assert delivery.body_size == 65 and delivery.body_excerpt == ""
    assert outcomes() == [("hook", "skipped", "the body is larger than 64 bytes: not read")]


@pytest.mark.parametrize("config_overrides", [{"global_integration_alias": "everywhere-please"}])
def test_the_global_alias_reaches_searchable_integrations_of_every_project(api, system, template):
    other = factories.project(name="Other")
    other_system = ProjectAccess(other, None, "")
    on_push = ({"match_type": "header", "key": "X-Event", "value": "push"},)
    integration(system, template, name="here", searchable=True, alias=False, matchers=on_push)
    integration(
        other_system,
        factories.template(project=other),
        name="there",
        searchable=True,
        alias=False,
        matchers=on_push,
    )
    integration(system, template, name="hidden", alias=False, matchers=on_push)
    deliver(api, "everywhere-please", b"{}", {"X-Event": "push"})
    assert sorted(t.project_id for t in tasks()) == sorted([system.project_id, other.id])
    recorded = deliveries()
    assert sorted(d.project_id for d in recorded) == sorted([system.project_id, other.id])
    # Members of a project never see the server's global alias.
    assert {(d.alias_kind, d.alias) for d in recorded} == {("global", "")}


def test_deliveries_are_pruned_per_project(api, system, template, monkeypatch):
    monkeypatch.setattr(integration_deliveries, "DELIVERIES_KEPT", 3)
    _, alias = integration(system, template)
    for n in range(5):
        deliver(api, alias, str(n).encode())
    assert [d.body_excerpt for d in deliveries()] == ["2", "3", "4"]
    count = select(func.count()).select_from(IntegrationDeliveryOutcome)
    assert db.session.scalar(count) == 3


def test_deleting_an_alias_stops_its_url(api, system, template):
    _, alias = integration(system, template)
    row = db.session.scalar(select(IntegrationAlias).where(IntegrationAlias.alias == alias))
    integrations.delete_alias(system, row.id, row.integration_id)
    deliver(api, alias, b"{}")
    assert tasks() == []


def test_deliveries_outlive_their_integration_and_go_with_the_project(api, app, system, template):
    hook, alias = integration(system, template)
    deliver(api, alias, b"{}")
    integrations.delete_integration(system, hook.id)
    [outcome] = db.session.scalars(select(IntegrationDeliveryOutcome)).all()
    assert (outcome.integration_id, outcome.integration_name) == (None, "hook")
    [view] = integration_deliveries.list_deliveries(system)
    assert view.outcomes[0].result == "started"

    owner = factories.user()
    db.session.add(ProjectUser(project_id=system.project_id, user_id=owner.id, role="owner"))
    db.session.commit()
    response = factories.api_client(app, owner).delete(f"/api/project/{system.project_id}")
    assert response.status_code == 204
    assert deliveries() == []
    assert db.session.scalars(select(IntegrationDeliveryOutcome)).all() == []
