"""A killed worker takes its task's processes, key agent and secret files with it.

Real `semaphore worker` processes run an ansible task with an SSH key (through the task's
ssh-agent, against the loopback sshd) and a secret variable (a 0600 extra-vars file); its
local play forks a child that would write a file 10 s later, then sleeps. The worker (which
runs its jobs itself) is SIGKILLed, as when a machine's OOM killer or an admin's `kill -9`
hits it:
* the task's process tree dies with the worker at once (bubblewrap's pid namespace, chained to
  the run's thread by PR_SET_PDEATHSIG; the agent's supervisor likewise), so the late file is
  never written;
* the worker's janitor (one for the worker's lifetime) removes the agent socket, the secret
  file, the inventory and the task directory within moments;
* only after all that, ~20 s later, does recovery end the task and free the template for its
  next run. Nothing is left for recovery (on any host) to kill.
When the janitor is killed too (the whole process tree at once), the files stay until the next
`semaphore worker` on the host starts: its sweep removes them before it takes any job.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from semaphore.engine import supervisor
from semaphore.extensions import db
from semaphore.models import Task
from semaphore.scheduler import recovery as task_recovery
from semaphore.services import environments, keys, tasks
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.engine.conftest import ssh_keys, sshd  # noqa: F401 - fixtures used by name
from tests.engine.test_ansible import hosts_ini
from tests.engine.test_secrets import files_containing, scan_command_lines
from tests.tasks.test_workers import _wait_for

pytestmark = pytest.mark.single_db

SECRET = "process-tree-secret-81"
PLAYBOOK = """\
- hosts: target-a
  gather_facts: false
  tasks:
    - ansible.builtin.command: echo remote says hello
- hosts: localhost
  gather_facts: false
  tasks:
    - name: fork a child that writes a file 10 s later
      ansible.builtin.shell: "(sleep 10; echo late > {{ playbook_dir }}/late.txt) >/dev/null 2>&1 &"
      when: linger | int > 0
    - ansible.builtin.debug:
        msg: "forked, secret {{ tree_secret }}"
      when: linger | int > 0
    - ansible.builtin.command: "sleep {{ linger }}"
"""
LINGER = "613"  # seconds; a number no other test's sleep uses
LOCAL = "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"


@pytest.fixture
def template(app, tmp_path, sshd, ssh_keys):  # noqa: F811 - the imported fixtures
    owner = factories.user()
    project = factories.project(members={owner: "owner"})
    access = project_access(owner, project.id)
    key = keys.create_key(
        access,
        {"name": "root", "type": "ssh",
         "ssh": {"login": "root", "private_key": ssh_keys["good"].private}},
    )  # fmt: skip
    repo = factories.git_repository(tmp_path / "playbooks", {"site.yml": PLAYBOOK})
    repository = factories.repository(project=project, git_url=f"file://{repo}")
    inventory = factories.inventory(
        project=project,
        type="static",
        inventory=hosts_ini(sshd.port, ("target-a",)) + LOCAL,
        ssh_key_id=key.id,
    )
    environment = environments.create_environment(
        access,
        {
            "name": "prod",
            "json": json.dumps({"linger": LINGER}),
            "env": json.dumps(
                {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPath=none",
                 "ANSIBLE_PIPELINING": "1"}
            ),
            "secrets": [{"type": "var", "name": "tree_secret", "secret": SECRET,
                         "operation": "create"}],
        },
    )  # fmt: skip
    made = factories.template(
        project=project,
        app="ansible",
        playbook="site.yml",
        repository_id=repository.id,
        inventory_id=inventory.id,
        environment_id=environment.id,
    )
    return SimpleNamespace(
        id=made.id, repository_id=repository.id, access=access, key_id=key.id, checkout=None
    )


def _output(task_id: int) -> list[str]:
    db.session.expire_all()
    return [line.output for line in task_output.read_lines(task_id)]


def _task(task_id: int) -> Task:
    db.session.expire_all()
    return db.session.get(Task, task_id)


def _processes_below(pid: int) -> list[tuple[int, int | None, str]]:
    """(pid, start time, command line) of every process below pid."""
    found = []
    for child in supervisor.descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        found.append((child, supervisor.process_start(child), cmdline))
    return found


def _run_files(tmp: Path, task_id: int, key_id: int) -> list[Path]:
    """The run's workspace, record, inventory and agent sockets under tmp_path (those in
    /tmp/sem-* are shared with other tests' runs: `_recorded_sockets` names this run's)."""
    return [
        *tmp.glob(f"task_{task_id}_*"),
        *tmp.glob(f".task_{task_id}_*.run"),
        *tmp.glob(f"inventory_{task_id}*"),
        *tmp.glob(f"**/ssh-agent-{key_id}-*"),
    ]


def _recorded_sockets(tmp: Path, task_id: int, key_id: int) -> list[Path]:
    """The run's agent sockets in /tmp (a short path), as its run record lists them."""
    found = []
    for record in tmp.glob(f".task_{task_id}_*.run"):
        for text in (supervisor.read_record(record) or {}).get("paths") or []:
            path = Path(text)
            if not text.startswith("/tmp/"):
                continue
            if path.name.startswith(f"ssh-agent-{key_id}-"):
                found.append(path)
            elif path.is_dir():
                found += path.glob(f"ssh-agent-{key_id}-*")
    return found


def _start_lingering_run(app, template, processes):
    worker = processes.worker()
    first = tasks.create_task(template.access, {"template_id": template.id})
    _wait_for(lambda: any("forked, secret" in line for line in _output(first.id)), 90)
    _wait_for(lambda: any(f"sleep {LINGER}" in c for _, _, c in _processes_below(worker.pid)), 20)
    forked_at = time.monotonic()
    # The next run of the template waits behind this one.
    second = tasks.create_task(
        template.access, {"template_id": template.id, "environment": json.dumps({"linger": "0"})}
    )
    below = _processes_below(worker.pid)
    tmp = Path(app.config["SEMAPHORE"].tmp_path)
    files = _run_files(tmp, first.id, template.key_id)
    files += _recorded_sockets(tmp, first.id, template.key_id)
    # What there is to lose: the tool in its sandbox, the agent, the worker's janitor, the
    # files.
    assert any("bwrap" in cmd and "ansible-playbook" in cmd for _, _, cmd in below), below
    assert any(f"sleep {LINGER}" in cmd for _, _, cmd in below)
    assert any(_late_writer(app, template) in cmd for _, _, cmd in below), below
    assert any("ssh-agent" in cmd for _, _, cmd in below)
    assert len([cmd for _, _, cmd in below if "supervisor.py janitor" in cmd]) == 1
    workspace = next(p for p in files if p.name.startswith(f"task_{first.id}_") and p.is_dir())
    assert (workspace / "extra_vars_secret.json").read_text().count(SECRET) == 1
    assert any(p.name.startswith(f"inventory_{first.id}") for p in files)
    assert any(p.name.startswith(f"ssh-agent-{template.key_id}-") for p in files)
    assert any(p.name.endswith(".run") for p in files)
    return worker, first, second, below, files, forked_at


def _alive(processes: list[tuple[int, int | None, str]]) -> list[str]:
    return [cmd for pid, start, cmd in processes if supervisor.is_alive(pid, start)]


def _late_writer(app, template) -> str:
    """What the forked child's command line holds: the path of the file it would write."""
    return f"{_checkout(app, template)}/late.txt"


def _checkout(app, template) -> Path:
    tmp = Path(app.config["SEMAPHORE"].tmp_path)
    return tmp / f"repository_{template.repository_id}_{template.id}"


def _started_at(task: Task) -> datetime:
    start = task.start
    return start if start.tzinfo else start.replace(tzinfo=UTC)


def test_sigkill_of_the_worker_takes_the_tasks_tree_agent_and_secrets(app, template, processes):
    worker, first, second, below, files, forked_at = _start_lingering_run(app, template, processes)
    os.kill(worker.pid, signal.SIGKILL)
    killed_at = time.monotonic()

    # The tree, the agent and the janitor die with the worker; the janitor first removes
    # the files. All of it long before recovery could even notice the worker is gone.
    _wait_for(lambda: not _alive(below), 5)
    tmp = Path(app.config["SEMAPHORE"].tmp_path)
    _wait_for(lambda: not _run_files(tmp, first.id, template.key_id), 5)
    assert not any(os.path.lexists(p) for p in files)
    leftover = [f"sleep {LINGER}", _late_writer(app, template), f"ssh-agent-{template.key_id}-"]
    assert scan_command_lines(leftover) == []
    assert files_containing(Path(app.config["SEMAPHORE"].tmp_path), [SECRET]) == []
    cleaned = datetime.now(UTC)
    assert time.monotonic() - killed_at < task_recovery.LAPSE_SECONDS
    assert _task(first.id).status == "running"  # recovery has not ended it yet
    assert _task(second.id).status == "waiting"

    # Recovery ends the lost task; a new worker runs the next one, after all of the above.
    processes.worker()
    recovery = task_recovery.Recovery()
    _wait_for(lambda: _task(second.id).status == "success", 120, recovery)
    assert _task(first.id).status == "error"
    assert _output(first.id)[-1] == task_recovery.WORKER_LOST
    assert _started_at(_task(second.id)) > cleaned
    # The child that was to write the file 10 s after the fork never did.
    time.sleep(max(0.0, forked_at + 12 - time.monotonic()))
    assert not (_checkout(app, template) / "late.txt").exists()
    assert _run_files(Path(app.config["SEMAPHORE"].tmp_path), second.id, template.key_id) == []


def test_when_the_janitor_dies_too_the_next_worker_sweeps_before_it_runs_anything(
    app, template, processes
):
    worker, first, second, below, files, forked_at = _start_lingering_run(app, template, processes)
    # The whole tree at once, janitor first (as a machine reset would): nothing cleans up.
    (janitor,) = [pid for pid, _, cmd in below if "supervisor.py janitor" in cmd]
    for pid in [janitor, worker.pid, *(pid for pid, _, _ in below)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _wait_for(lambda: not _alive(below), 5)
    time.sleep(1)
    left = [p for p in files if os.path.lexists(p)]
    assert any(p.is_dir() and (p / "extra_vars_secret.json").exists() for p in left), files
    assert files_containing(Path(app.config["SEMAPHORE"].tmp_path), [SECRET])  # still there

    processes.worker()  # sweeps at start, before it takes a job
    _wait_for(lambda: not any(os.path.lexists(p) for p in files), 30)
    swept = datetime.now(UTC)
    assert files_containing(Path(app.config["SEMAPHORE"].tmp_path), [SECRET]) == []
    recovery = task_recovery.Recovery()
    _wait_for(lambda: _task(second.id).status == "success", 120, recovery)
    assert _task(first.id).status == "error"
    assert _started_at(_task(second.id)) > swept
    time.sleep(max(0.0, forked_at + 12 - time.monotonic()))
    assert not (_checkout(app, template) / "late.txt").exists()
