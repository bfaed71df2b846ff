"""Process memory (issue 17): the resident size of each process of a deployment when idle,
after a 1,000,000-line task, and after its whole `/output` was read through the API.

`semaphore server` (2 gunicorn workers), `semaphore worker` and `semaphore scheduler` as the
Procfile starts them, on the test's database and Redis; the embedded Redis's supervisor
(`python -m semaphore.embedded_redis`) on its own. Targets: RQ worker <= 80 MB, gunicorn
worker <= 100 MB, scheduler <= 70 MB idle; unchanged +/- 10 % after the task and the read.

"Idle" is taken once each web process has answered its first requests (a sign-in check, the
template and task lists), as a deployment's are: a forked process maps the shared libraries'
pages again as it first runs their code (+6-9 MB of RSS that is not memory of its own), which
would otherwise count against the task. The figure before any request is printed as "fresh".
"""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from semaphore.embedded_redis import ensure_embedded_redis
from tests import factories
from tests.processes import descendants

pytestmark = pytest.mark.single_db
SCRIPT = "seq 1 1000000 | sed 's/^/line /'\n"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _snapshot(roles: dict[str, list[int]]) -> dict[str, list[float]]:
    return {role: [round(_rss_mb(pid), 1) for pid in pids] for role, pids in roles.items()}


def _get(address: str, path: str, token: str) -> bytes:
    request = urllib.request.Request(
        f"http://{address}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=600) as answer:  # noqa: S310 - loopback
        size = 0
        while chunk := answer.read(1 << 20):
            size += len(chunk)
        return str(size).encode()


def _post(address: str, path: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"http://{address}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
        return json.loads(answer.read())


def test_process_memory(app, processes, tmp_path):
    repo = factories.git_repository(tmp_path / "scripts", {"million.sh": SCRIPT})
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    template = factories.script_template(project, repo, "million.sh")
    token = factories.api_token(owner)
    address = processes.web(workers=2, threads=16)
    worker, scheduler = processes.worker(), processes.scheduler()
    time.sleep(8)  # every process idle: imports done, first ticks over
    master = processes.started[0].pid
    roles = {
        "gunicorn workers": descendants(master),
        "RQ worker": [worker.pid],
        "scheduler": [scheduler.pid],
    }
    fresh = _snapshot(roles)
    base = f"/api/project/{project.id}"
    # A client's first requests, spread over both web processes by 16 connections at once.
    first_requests = [f"{base}/templates", f"{base}/tasks", "/api/user"] * 32
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda path: _get(address, path, token), first_requests))
    time.sleep(2)
    idle = _snapshot(roles)
    task = _post(address, f"{base}/tasks", token, {"template_id": template.id})
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = json.loads(_get_json(address, f"{base}/tasks/{task['id']}", token))["status"]
        if status in ("success", "error", "stopped"):
            break
        time.sleep(0.2)
    time.sleep(2)
    after_task = _snapshot(roles)
    began = time.perf_counter()
    for _ in range(2):  # each gunicorn worker, most likely
        _get(address, f"{base}/tasks/{task['id']}/output", token)
    read_seconds = (time.perf_counter() - began) / 2
    time.sleep(2)
    after_read = _snapshot(roles)

    # The embedded Redis as `make run` starts it: this process its one client.
    data = tmp_path / "embedded"
    ensure_embedded_redis(data)
    time.sleep(2)
    [supervisor] = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
        and b"semaphore.embedded_redis" in _cmdline(entry)
        and str(data.resolve()).encode() in _cmdline(entry)
    ]
    embedded = round(_rss_mb(supervisor), 1)
    # Gone as a client: the supervisor stops Redis and exits after its grace period.
    for entry in (data / "redis-clients").iterdir():
        entry.unlink()

    print(f"\nstatus {status}; GET …/output of 1,000,000 lines: {read_seconds:.1f} s each")
    for role in roles:
        print(
            f"{role}: fresh {fresh[role]} MB; idle {idle[role]}; "
            f"after the task {after_task[role]}; after reading its output {after_read[role]}"
        )
    print(f"embedded Redis supervisor: {embedded} MB (the redis-server beside it not counted)")


def _cmdline(entry: Path) -> bytes:
    try:
        return (entry / "cmdline").read_bytes()
    except OSError:
        return b""


def _get_json(address: str, path: str, token: str) -> bytes:
    request = urllib.request.Request(
        f"http://{address}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
        return answer.read()
