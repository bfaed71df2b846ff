"""Lists that cost what their bytes cost (issue 17): `GET /api/project/{id}/templates` with
1,000 templates, under wrk at 16 connections, beside a bare Flask route that answers the same
JSON body, pre-serialised, served by the same gunicorn settings (`semaphore server`'s worker
class, workers and threads) in the same run.

Targets: the templates list >= 50 % of the bare route's requests per second, p99 <= 50 ms.
SQLite; half the templates have run (their last task is in the answer).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from semaphore.extensions import db
from semaphore.models import Task, utcnow
from tests import factories
from tests.processes import free_port, process_env, wait_for_http

pytestmark = pytest.mark.single_db
TEMPLATES = 1000
WORKERS, THREADS = 2, 16
ROUNDS = 5

BARE_APP = textwrap.dedent(
    """
    import sys
    from flask import Flask, Response
    from semaphore.config import load_config
    from semaphore.server.serve import _Gunicorn, gunicorn_options, request_limits

    body = open(sys.argv[1], "rb").read()
    app = Flask("bare")

    @app.get("/api/project/<int:project_id>/templates")
    def templates(project_id):
        return Response(body, mimetype="application/json")

    @app.get("/api/ping")
    def ping():
        return "pong"

    config = load_config(use_file=False)
    _Gunicorn(app, gunicorn_options(config), request_limits(config, app)).run()
    """
)


def _wrk(url: str, token: str) -> tuple[float, float]:
    """(requests per second, p99 latency in ms) of 16 connections for 5 s."""
    done = subprocess.run(
        ["wrk", "-t2", "-c16", "-d5s", "--latency", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", done.stdout).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    assert errors is None, done.stdout
    return rate, p99


def test_templates_list_beside_a_bare_route(app, config, processes, tmp_path):
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    key = factories.key(project=project)
    repository = factories.repository(project=project, ssh_key_id=key.id)
    inventory = factories.inventory(project=project, ssh_key_id=key.id)
    templates = [
        factories.template(
            project=project,
            name=f"Deploy {n:04d}",
            repository_id=repository.id,
            inventory_id=inventory.id,
            survey_vars=[{"name": "tag", "title": "Tag", "type": "", "required": False}],
        )
        for n in range(TEMPLATES)
    ]
    for template in templates[::2]:
        db.session.add(
            Task(
                template_id=template.id,
                project_id=project.id,
                user_id=owner.id,
                status="success",
                start=utcnow(),
                end=utcnow(),
            )
        )
    db.session.commit()
    token = factories.api_token(owner)
    path = f"/api/project/{project.id}/templates"

    address = processes.web(workers=WORKERS, threads=THREADS)
    request = urllib.request.Request(
        f"http://{address}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310 - loopback
        body = answer.read()
    (tmp_path / "body.json").write_bytes(body)

    port = free_port()
    env = process_env(
        config,
        SEMAPHORE_PORT=str(port),
        SEMAPHORE_INTERFACE="127.0.0.1",
        SEMAPHORE_WEB_WORKERS=str(WORKERS),
        SEMAPHORE_WEB_THREADS=str(THREADS),
    )
    log = open(tmp_path / "bare.log", "wb")  # noqa: SIM115 - closed with the process
    bare = subprocess.Popen(
        [sys.executable, "-c", BARE_APP, str(tmp_path / "body.json")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/ping")
        time.sleep(1)
        _wrk(f"http://{address}{path}", token)  # warm both, then measure
        _wrk(f"http://127.0.0.1:{port}{path}", token)
        # Taken in turns, ROUNDS of each: the machine is shared, and its speed drifts by
        # half within a minute; each round's ratio compares neighbours, the median is shown.
        rounds = []
        for _ in range(ROUNDS):
            ours = _wrk(f"http://{address}{path}", token)
            baseline = _wrk(f"http://127.0.0.1:{port}{path}", token)
            rounds.append((ours, baseline))
    finally:
        os.killpg(bare.pid, 15)
        bare.wait(timeout=30)
        log.close()
    for ours, baseline in rounds:
        print(
            f"\ntemplates list, {TEMPLATES} templates ({len(body):,} bytes): {ours[0]:.0f} req/s, "
            f"p99 {ours[1]:.1f} ms; the bare route with the same body: {baseline[0]:.0f} req/s, "
            f"p99 {baseline[1]:.1f} ms; ratio {ours[0] / baseline[0]:.0%}"
        )
    ratios = sorted(ours[0] / baseline[0] for ours, baseline in rounds)
    p99s = sorted(ours[1] for ours, _ in rounds)
    print(
        f"median of {ROUNDS} rounds: ratio {ratios[ROUNDS // 2]:.0%} (target >= 50 %), "
        f"p99 {p99s[ROUNDS // 2]:.1f} ms (target <= 50)"
    )
