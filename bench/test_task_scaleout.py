"""Short tasks through real workers (issue 17): tasks per second with 1 and 4 `semaphore
worker` processes, beside the CPU bound measured in the same run.

200 tasks of `echo hi` spread over 8 templates (their checkouts warmed first), one project
without a limit of its own. The CPU bound is 2 cores / the CPU seconds each task cost, summed
over every process: the workers and everything they ran (git, bubblewrap, bash: including the
pid-namespace inits bubblewrap leaves to a subreaper, which this process reaps, see
`bench/orphans.py`), Redis, and this process while it creates the tasks through the API (as a
web process would; its polling for their end is the benchmark's own and not counted). The
host's busy share over the same time shows whether the CPU was the limit.
RQ's own counters tell how many jobs ran.

Targets: with 4 workers, tasks/s >= 80 % of the CPU bound; CPU per task <= 60 ms; jobs run =
tasks. SQLite.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from rq import Worker
from sqlalchemy import func, select

from bench.orphans import OrphanReaper
from semaphore import broker
from semaphore.extensions import db
from semaphore.models import FINISHED_STATUSES, Task
from tests import factories
from tests.processes import descendants

TASKS = 200
TEMPLATES = 8
TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 2

pytestmark = pytest.mark.single_db


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("short"), {"hi.sh": "echo hi\n"})


def _cpu_seconds(pid: int, with_reaped_children: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, then cutime, cstime (children waited for), after the state field.
    used = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        used += int(fields[13]) + int(fields[14])
    return used / TICKS


def _tree_cpu(pids: list[int]) -> float:
    """CPU of each process with its reaped children, plus its living descendants'."""
    total = 0.0
    for pid in pids:
        total += _cpu_seconds(pid, True)
        total += sum(_cpu_seconds(child, False) for child in descendants(pid))
    return total


def _host_ticks() -> tuple[int, int]:
    """(idle, all) ticks of the host since boot."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _finished(ids: list[int]) -> int:
    db.session.expire_all()
    query = select(func.count()).where(Task.id.in_(ids), Task.status.in_(FINISHED_STATUSES))
    return db.session.scalar(query)


def _jobs_run() -> int:
    workers = Worker.all(connection=broker.connection())
    return sum(w.successful_job_count + w.failed_job_count for w in workers)


def _run(app, processes, redis_server, script_repo, workers: int) -> dict[str, float]:
    owner = factories.user()
    project = factories.project(members={owner: "owner"}, max_parallel_tasks=0)
    repository = factories.repository(
        project=project, git_url=f"file://{script_repo}", git_branch="main"
    )
    templates = [
        factories.template(
            project=project,
            app="bash",
            playbook="hi.sh",
            repository_id=repository.id,
            inventory_id=None,
        )
        for _ in range(TEMPLATES)
    ]
    # A plain client, each request in an app context of its own as a server runs it: the
    # tests' contract-checking client validates every answer, which no web process does.
    client = app.test_client()
    signed_in = {"Authorization": f"Bearer {factories.api_token(owner)}"}
    started = [processes.worker() for _ in range(workers)]
    time.sleep(3)  # idle and listening

    def post(template_id: int) -> int:
        with app.app_context():
            answer = client.post(
                f"/api/project/{project.id}/tasks",
                json={"template_id": template_id},
                headers=signed_in,
            )
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.get_json()["id"]

    warm = [post(t.id) for t in templates]
    while _finished(warm) < len(warm):
        time.sleep(0.05)
    time.sleep(1)  # RQ counts the warm-up's last jobs once they are finished
    pids = [p.pid for p in started] + [redis_server.process.pid]
    worker_pids = [p.pid for p in started]
    workers_before = _tree_cpu(worker_pids)
    cpu_before, jobs_before = _tree_cpu(pids), _jobs_run()
    own_before, orphans_before = time.process_time(), _children_cpu()
    idle_before, ticks_before = _host_ticks()
    began = time.perf_counter()
    ids = [post(templates[n % TEMPLATES].id) for n in range(TASKS)]
    own = time.process_time() - own_before
    while _finished(ids) < TASKS:
        time.sleep(0.05)
    elapsed = time.perf_counter() - began
    idle_after, ticks_after = _host_ticks()
    idle, ticks = idle_after - idle_before, ticks_after - ticks_before
    time.sleep(1)  # RQ counts a job once it is finished
    orphans = _children_cpu() - orphans_before
    cpu = _tree_cpu(pids) - cpu_before + own + orphans
    workers_cpu = _tree_cpu(worker_pids) - workers_before
    jobs = _jobs_run() - jobs_before
    for process in started:
        process.terminate()
    for process in started:
        process.wait(timeout=30)
    return {
        "elapsed": elapsed,
        "cpu": cpu,
        "jobs": jobs,
        "workers": workers_cpu,
        "own": own,
        "orphans": orphans,
        "redis": cpu - workers_cpu - own - orphans,
        "host_busy": 1 - idle / ticks,
    }


@pytest.mark.parametrize("config_overrides", [{"max_parallel_tasks": 0}])
def test_short_tasks_scale_out(app, processes, redis_server, script_repo):
    with OrphanReaper():
        one = _run(app, processes, redis_server, script_repo, workers=1)
        four = _run(app, processes, redis_server, script_repo, workers=4)
    for name, run in (("1 worker", one), ("4 workers", four)):
        per_task = run["cpu"] / TASKS
        bound = CORES / per_task
        rate = TASKS / run["elapsed"]
        print(
            f"\n{name}: {TASKS} tasks in {run['elapsed']:.2f} s = {rate:.1f} tasks/s; "
            f"CPU {run['cpu']:.2f} s = {per_task * 1000:.0f} ms per task (target <= 60); "
            f"CPU bound {bound:.1f} tasks/s; {rate / bound:.0%} of it (target >= 80 % with 4); "
            f"RQ jobs run {run['jobs']} for {TASKS} tasks; per task: workers "
            f"{run['workers'] / TASKS * 1000:.0f} ms, bubblewrap's namespace inits (git, bash) "
            f"{run['orphans'] / TASKS * 1000:.0f} ms, Redis {run['redis'] / TASKS * 1000:.0f} ms, "
            f"the API creating them {run['own'] / TASKS * 1000:.0f} ms; "
            f"host busy {run['host_busy']:.0%}"
        )
    print(f"scale-out 1 -> 4 workers: {one['elapsed'] / four['elapsed']:.2f}x")
