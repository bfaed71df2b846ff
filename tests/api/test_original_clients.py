"""Clients written for the original, against a real `semaphore server` (and worker).

* The original's documented cookie-jar script, run with curl as a user would run it.
* A client like those generated from the contract, which keeps only the last `Set-Cookie`
  header of each response and sends it back as its Cookie, going from login to a task's output.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from semaphore.extensions import db
from semaphore.models import APIToken, Project
from tests import factories
from tests.processes import Processes


def curl(*args: str) -> tuple[int, str]:
    """Run curl; returns (HTTP status, body)."""
    result = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


def test_the_originals_documented_cookie_jar_script(app, processes: Processes, tmp_path: Path):
    admin = factories.user(admin=True, username="admin")
    host = processes.web()
    base = f"http://{host}/api"
    jar = str(tmp_path / "jar")
    login = json.dumps({"auth": "admin", "password": factories.DEFAULT_PASSWORD})

    status, _ = curl(
        "-c", jar, "-H", "Content-Type: application/json", "-d", login, base + "/auth/login"
    )
    assert status == 204
    status, body = curl("-b", jar, "-X", "POST", base + "/user/tokens")
    assert status == 201, body
    token = json.loads(body)["id"]

    status, body = curl("-H", f"Authorization: Bearer {token}", base + "/user")
    assert status == 200 and json.loads(body)["username"] == "admin"

    status, _ = curl("-b", jar, "-X", "POST", base + "/auth/logout")
    assert status == 204
    status, body = curl("-b", jar, base + "/user")
    assert status == 401, body
    db.session.expire_all()
    assert db.session.query(APIToken).filter_by(user_id=admin.id).count() == 1


class LastCookieClient:
    """Keeps only the last Set-Cookie header of a response, whole, as generated clients do."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookie: str | None = None

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("Accept", "application/json")
        if self.cookie:
            request.add_header("Cookie", self.cookie)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        set_cookies = headers.get_all("Set-Cookie") or []
        if set_cookies:
            self.cookie = set_cookies[-1]
        return status, json.loads(raw) if raw and "json" in headers.get("Content-Type", "") else raw


def test_a_client_keeping_only_the_last_set_cookie_runs_a_task(
    app, processes: Processes, tmp_path: Path
):
    factories.user(admin=True, username="admin")
    repo = factories.git_repository(tmp_path / "repo", {"hello.sh": "echo hello from a script\n"})
    host = processes.web()
    processes.worker()
    client = LastCookieClient(f"http://{host}/api")

    status, _ = client.call(
        "POST", "/auth/login", {"auth": "admin", "password": factories.DEFAULT_PASSWORD}
    )
    assert status == 204 and client.cookie.startswith("semaphore=")
    status, token = client.call("POST", "/user/tokens")
    assert status == 201 and token["id"]
    status, project = client.call("POST", "/projects", {"name": "Generated"})
    assert status == 201
    p = f"/project/{project['id']}"
    status, key = client.call("POST", p + "/keys", {"name": "none", "type": "none"})
    assert status == 201
    status, repository = client.call(
        "POST",
        p + "/repositories",
        {
            "name": "scripts",
            "git_url": f"file://{repo}",
            "git_branch": "main",
            "ssh_key_id": key["id"],
        },
    )
    assert status == 201, repository
    status, inventory = client.call(
        "POST", p + "/inventory", {"name": "local", "type": "static", "inventory": "localhost"}
    )
    assert status == 201
    status, environment = client.call(
        "POST", p + "/environment", {"name": "vars", "json": '{"greeting": "hi"}'}
    )
    assert status == 201
    status, template = client.call(
        "POST",
        p + "/templates",
        {
            "name": "hello",
            "app": "bash",
            "playbook": "hello.sh",
            "repository_id": repository["id"],
            "inventory_id": inventory["id"],
            "environment_id": environment["id"],
        },
    )
    assert status == 201, template
    status, task = client.call("POST", p + "/tasks", {"template_id": template["id"]})
    assert status == 201, task

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, current = client.call("GET", f"{p}/tasks/{task['id']}")
        assert status == 200
        if current["status"] in ("success", "error", "stopped"):
            break
        time.sleep(0.3)
    assert current["status"] == "success", current
    status, output = client.call("GET", f"{p}/tasks/{task['id']}/output")
    assert status == 200
    assert "hello from a script" in [line["output"] for line in output]
    db.session.expire_all()
    assert db.session.get(Project, project["id"]).name == "Generated"
