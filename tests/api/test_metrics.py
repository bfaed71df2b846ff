"""GET /metrics: who may scrape it (off by default, a bearer token, allowed networks), for every
kind of caller, and what it says: gauges read from the database and Redis at scrape time,
counters of requests, logins and output, with bounded label values and Prometheus' names.

These run in one process (the Flask test client), where prometheus_client keeps its values in
memory; the counts summed over real gunicorn and worker processes are checked in
tests/tasks/test_metrics_processes.py. Counters here are compared before and after, since
they live as long as the test process.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from semaphore.extensions import db
from semaphore.metrics import access
from semaphore.models import Runner, utcnow
from semaphore.queue import heartbeats
from tests import factories

TOKEN = "scrape-me-0123456789"
CALLERS = ("admin", "owner", "manager", "task_runner", "guest", "outsider", "anonymous")
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def _headers(app, caller: str) -> dict[str, str]:
    """The caller's own credentials: a user's API token (anonymous: none)."""
    if caller == "anonymous":
        return {}
    user = factories.user(admin=caller == "admin")
    if caller not in ("admin", "outsider"):
        factories.project(members={user: caller})
    return {"Authorization": f"Bearer {factories.api_token(user)}"}


def scrape(client, token: str | None = TOKEN, **kwargs) -> dict[str, dict]:
    """{family name: {"type": ..., "samples": [(name, labels, value)]}} of one scrape."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/metrics", headers=headers, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=")
    families = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        families[family.name] = {
            "type": family.type,
            "samples": [(s.name, s.labels, s.value) for s in family.samples],
        }
    return families


def value(families: dict, name: str, **labels: str) -> float:
    """The sum of the samples of that name whose labels include these (0 when none)."""
    family = name.removesuffix("_total").removesuffix("_count").removesuffix("_sum")
    samples = families.get(family, {"samples": []})["samples"]
    return sum(
        v for n, ls, v in samples if n == name and all(ls.get(k) == x for k, x in labels.items())
    )


# --- who may scrape -----------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
def test_metrics_are_off_by_default_for_everyone(app, client, caller):
    response = client.get("/metrics", headers=_headers(app, caller))
    assert response.status_code == 404
    assert response.get_json() == {"error": access.OFF}


@pytest.mark.parametrize("config_overrides", [{"metrics_token": TOKEN}])
@pytest.mark.parametrize("caller", CALLERS)
def test_a_users_own_credentials_never_open_metrics(app, client, caller):
    response = client.get("/metrics", headers=_headers(app, caller))
    assert response.status_code == 401
    assert response.get_json() == {"error": access.BAD_TOKEN}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("config_overrides", [{"metrics_token": TOKEN}])
@pytest.mark.parametrize("caller", CALLERS)
def test_the_metrics_token_opens_them_whoever_is_signed_in(app, client, caller):
    user_headers = _headers(app, caller)
    if caller != "anonymous":
        # A signed-in browser session alongside the scraper's token changes nothing.
        client.set_cookie("semaphore", "not-a-session")
    response = client.get("/metrics", headers={**user_headers, "Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "semaphore_tasks" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("config_overrides", [{"metrics_token": TOKEN}])
@pytest.mark.parametrize(
    "authorization", ["", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN]
)
def test_a_missing_or_wrong_token_is_refused(client, authorization):
    response = client.get("/metrics", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.get_json() == {"error": access.BAD_TOKEN}


@pytest.mark.parametrize(
    "config_overrides",
    [{"metrics_allowed_networks": ("10.0.0.0/8",)}, {"metrics_allowed_networks": ("127.0.0.2",)}],
)
def test_an_address_outside_the_allowed_networks_is_refused(client):
    response = client.get("/metrics")  # the test client comes from 127.0.0.1
    assert response.status_code == 403
    assert response.get_json() == {"error": access.BAD_ADDRESS}
    # Even with a token: the network setting is not given up for one.
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403


@pytest.mark.parametrize("config_overrides", [{"metrics_allowed_networks": ("127.0.0.0/8",)}])
def test_an_allowed_network_needs_no_token(client):
    assert "semaphore_tasks" in scrape(client, token=None)


@pytest.mark.parametrize(
    "config_overrides",
    [{"metrics_allowed_networks": ("192.0.2.0/24",), "trusted_proxies": ("127.0.0.1/32",)}],
)
def test_the_allowed_network_is_checked_on_the_address_a_trusted_proxy_forwards(client):
    inside = client.get("/metrics", headers={"X-Forwarded-For": "192.0.2.7"})
    outside = client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert (inside.status_code, outside.status_code) == (200, 403)


@pytest.mark.parametrize(
    "config_overrides",
    [{"metrics_allowed_networks": ("127.0.0.0/8",), "metrics_token": TOKEN}],
)
def test_with_both_settings_both_must_hold(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.parametrize(
    "config_overrides", [{"metrics_token": TOKEN, "web_host": "https://ci.example.com/semaphore"}]
)
def test_metrics_are_served_under_the_web_root_prefix(client):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/semaphore/metrics", headers=headers).status_code == 200
    assert client.get("/metrics", headers=headers).status_code == 404


# --- what it says ---------------------------------------------------------------------------------


@pytest.mark.parametrize("config_overrides", [{"metrics_token": TOKEN}])
def test_database_gauges_count_tasks_by_project_and_status(app, client):
    first, second = factories.project(), factories.project()
    template = factories.template(project=first)
    other = factories.template(project=second)
    created = utcnow() - timedelta(minutes=5)
    factories.task(of=template, status="waiting", created=created)
    factories.task(of=template, status="waiting")
    factories.task(of=template, status="success")
    factories.task(of=other, status="error")
    families = scrape(client)
    assert value(families, "semaphore_tasks", project_id=str(first.id), status="waiting") == 2
    assert value(families, "semaphore_tasks", project_id=str(first.id), status="success") == 1
    assert value(families, "semaphore_tasks", project_id=str(second.id), status="error") == 1
    assert value(families, "semaphore_queue_waiting_tasks") == 2
    assert 290 <= value(families, "semaphore_queue_oldest_waiting_seconds") < 3600
    assert value(families, "semaphore_metrics_source_up", source="database") == 1


@pytest.mark.parametrize("config_overrides", [{"metrics_token": TOKEN, "runner_timeout": 30}])
def test_runners_workers_queues_and_the_scheduler_tick(app, client):
    now = utcnow()
    for active, touched in [(True, now), (True, now), (True, now - timedelta(minutes=5))]:
        db.session.add(Runner(name="r", active=active, touched=touched))
    db.session.add(Runner(name="off", active=False, touched=now))
    db.session.commit()
    families = scrape(client)
    assert value(families, "semaphore_runners", state="online") == 2
    assert value(families, "semaphore_runners", state="offline") == 1
    assert value(families, "semaphore_runners", state="inactive") == 1
    assert value(families, "semaphore_workers", state="busy") == 0  # no worker runs here
    assert value(families, "semaphore_rq_queue_jobs", queue="tasks") == 0
    assert "semaphore_scheduler_last_tick_timestamp_seconds" not in families
    heartbeats.scheduler_ticked(1_800_000_000.5)
    families = scrape(client)
    assert value(families, "semaphore_scheduler_last_tick_timestamp_seconds") == 1_800_000_000.5


@pytest.mark.parametrize("config_overrides", [{"metrics_token": TOKEN}])
def test_without_redis_the_scrape_still_answers_and_says_so(app, client, redis_server):
    redis_server.stop()
    try:
        families = scrape(client)
    finally:
        redis_server.start()
    assert value(families, "semaphore_metrics_source_up", source="redis") == 0
    assert value(families, "semaphore_metrics_source_up", source="database") == 1
    assert "semaphore_workers" not in families


@pytest.mark.parametrize("config_overrides", [{"metrics_token": TOKEN}])
def test_requests_are_counted_by_route_rule_never_by_path(app, client, admin_api, admin):
    project = factories.project(members={admin: "owner"})
    task = factories.task(of=factories.template(project=project), status="success")
    path = f"/api/project/{project.id}/tasks/{task.id}"
    rule = "/api/project/<int:project_id>/tasks/<int:task_id>"
    before = scrape(client)
    assert admin_api.get(path).status_code == 200
    client.get(f"/api/project/{project.id}/tasks/999999")  # 401: no credentials
    client.get("/no/such/page/4242")
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("semaphore_http_requests_total", method="GET", route=rule, status="200") == 1
    assert delta("semaphore_http_requests_total", method="GET", route=rule, status="401") == 1
    assert delta("semaphore_http_request_duration_seconds_count", route=rule) == 2
    assert delta("semaphore_http_requests_total", route="unmatched", status="404") == 1
    # No label value anywhere names an id, a path or a user.
    values = {
        v
        for family in after.values()
        for _, labels, _ in family["samples"]
        for v in labels.values()
    }
    assert not [v for v in values if path in v or "999999" in v or "4242" in v or "admin" in v]
    routes = {labels["route"] for _, labels, _ in after["semaphore_http_requests"]["samples"]}
    assert not [r for r in routes if any(part.isdigit() for part in r.split("/"))]


@pytest.mark.parametrize("config_overrides", [{"metrics_token": TOKEN}])
def test_failed_logins_are_counted(app, client, api):
    factories.user(username="someone", password="right-password")
    before = value(scrape(client), "semaphore_login_failures_total", reason="password")
    response = api.post("/api/auth/login", json={"auth": "someone", "password": "wrong"})
    assert response.status_code == 401
    after = value(scrape(client), "semaphore_login_failures_total", reason="password")
    assert after - before == 1


@pytest.mark.parametrize("config_overrides", [{"metrics_token": TOKEN}])
def test_every_name_and_label_follows_prometheus_rules(app, client):
    heartbeats.scheduler_ticked()
    families = scrape(client)
    ours = {name: f for name, f in families.items() if name.startswith("semaphore_")}
    assert len(ours) >= 20
    for name, family in ours.items():
        assert NAME.match(name), name
        assert not name.endswith("_total") or family["type"] != "counter", name
        for _, labels, _ in family["samples"]:
            assert all(NAME.match(label) and not label.startswith("__") for label in labels)
    counters = [name for name, f in ours.items() if f["type"] == "counter"]
    assert "semaphore_tasks_started" in counters and "semaphore_http_requests" in counters
