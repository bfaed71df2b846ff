"""Remote runners end to end (issue 18's acceptance): a real `semaphore server` and scheduler,
and real `semaphore runner` processes started with no database or Redis URL, registered with a
registration token given on stdin, activated by an admin, running real bash and ansible tasks
by their tags; stops, a killed runner and a restarted server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from semaphore.extensions import db
from semaphore.models import Runner, Task, Template, User
from semaphore.services import environments
from semaphore.services.permissions import project_access
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.live.conftest import connect, receive_until
from tests.processes import free_port, process_env, wait_for_http

pytestmark = pytest.mark.single_db

REGISTRATION = "registration-secret"
LOCAL = "localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n"
PLAYBOOK = """- hosts: all
  gather_facts: false
  tasks:
    - debug:
        msg: "hello from ansible"
"""
SECRETS_PLAYBOOK = """- hosts: all
  gather_facts: false
  tasks:
    - debug:
        msg: "survey {{ db_password }} env {{ lookup('env', 'DEPLOY_TOKEN') }}"
"""
SURVEY_SECRET = "survey-secret-4711"
ENV_SECRET = "env-secret-0815"
SCRIPTS = {
    "secrets.yml": SECRETS_PLAYBOOK,
    "hello.sh": 'for i in 1 2 3 4 5; do echo "hello $i"; sleep 0.1; done\n',
    # A marker in the sleep's argument finds the job's process with pgrep.
    "slow.sh": 'echo "slow start"\nsleep 6001\necho "never"\n',
    "steady.sh": 'for i in $(seq 1 40); do echo "steady $i"; sleep 0.1; done\n',
    "site.yml": PLAYBOOK,
}


class Api:
    """The admin's and the owner's HTTP calls to the real server."""

    def __init__(self, address: str, token: str) -> None:
        self.address, self.token = address, token

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        request = urllib.request.Request(
            f"http://{self.address}/api{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


class World:
    """A server, a scheduler and the project the tasks run in."""

    def __init__(self, processes, config, tmp_path: Path, runner_timeout: int) -> None:
        self.processes, self.config, self.tmp_path = processes, config, tmp_path
        self.port = free_port()
        self.server_env = process_env(
            config,
            SEMAPHORE_PORT=str(self.port),
            SEMAPHORE_INTERFACE="127.0.0.1",
            SEMAPHORE_WEB_WORKERS="1",
            SEMAPHORE_WEB_THREADS="16",
            SEMAPHORE_RUNNER_REGISTRATION_TOKEN=REGISTRATION,
            SEMAPHORE_RUNNER_TIMEOUT=str(runner_timeout),
        )
        self.web = self.start_web()
        processes._start("scheduler", ["scheduler"], self.server_env)
        self.address = f"127.0.0.1:{self.port}"
        admin = factories.user(admin=True)
        owner = factories.user()
        self.project = factories.project(members={owner: "owner"})
        repo = factories.git_repository(tmp_path / "scripts", SCRIPTS)
        self.repository = factories.repository(
            project=self.project, git_url=f"file://{repo}", git_branch="main"
        )
        self.owner_id = owner.id
        self.admin = Api(self.address, factories.api_token(admin))
        self.owner = Api(self.address, factories.api_token(owner))
        self.owner_token = self.owner.token

    def start_web(self) -> subprocess.Popen:
        web = self.processes._start("web", ["server"], self.server_env)
        wait_for_http(f"http://127.0.0.1:{self.port}/api/ping")
        return web

    def template(self, script: str, tag: str, app: str = "bash") -> int:
        fields = {"inventory_id": None}
        if app == "ansible":
            fields["inventory_id"] = factories.inventory(project=self.project, inventory=LOCAL).id
        return factories.template(
            project=self.project,
            app=app,
            playbook=script,
            repository_id=self.repository.id,
            runner_tag=tag,
            **fields,
        ).id

    def runner(self, name: str, tags: str) -> tuple[subprocess.Popen, int]:
        """A registered `semaphore runner start`, with no database or Redis in its
        environment; returns its process and id."""
        home = self.tmp_path / name
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SEMAPHORE_") and key not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            SEMAPHORE_WEB_ROOT=f"http://{self.address}",
            SEMAPHORE_RUNNER_TOKEN_FILE=str(home / "token"),
            SEMAPHORE_RUNNER_TAGS=tags,
            SEMAPHORE_RUNNER_MAX_PARALLEL_TASKS="2",
            SEMAPHORE_TMP_PATH=str(home / "tmp"),
            SEMAPHORE_DATA_DIR=str(home / "data"),
            SEMAPHORE_LOG_LEVEL="INFO",
            SEMAPHORE_TASK_SANDBOX=str(self.config.task_sandbox).lower(),
            SEMAPHORE_TASK_SANDBOX_PATHS=json.dumps(list(self.config.task_sandbox_paths)),
            SEMAPHORE_LOCAL_REPOSITORY_ROOTS=json.dumps(list(self.config.local_repository_roots)),
        )
        registered = subprocess.run(
            [sys.executable, "-m", "semaphore", "--no-config", "runner", "register",
             "--stdin-registration-token"],
            input=REGISTRATION + "\n", env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert registered.returncode == 0, registered.stderr
        token = (home / "token").read_text().strip()
        assert oct((home / "token").stat().st_mode & 0o777) == "0o600"
        process = self.processes._start(f"runner-{name}", ["--no-config", "runner", "start"], env)
        from semaphore.security.tokens import digest

        db.session.rollback()
        runner = db.session.query(Runner).filter_by(token_hash=digest(token)).one()
        return process, runner.id

    def run(self, template_id: int) -> int:
        status, body = self.owner.call(
            "POST", f"/project/{self.project.id}/tasks", {"template_id": template_id}
        )
        assert status == 201, body
        return body["id"]

    def task(self, task_id: int) -> dict:
        status, body = self.owner.call("GET", f"/project/{self.project.id}/tasks/{task_id}")
        assert status == 200, body
        return body

    def wait_for(self, task_id: int, predicate, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            task = self.task(task_id)
            if predicate(task):
                return task
            assert time.monotonic() < deadline, f"task {task_id}: not {what} in {timeout} s: {task}"
            time.sleep(0.05)

    def output(self, task_id: int) -> list[str]:
        status, lines = self.owner.call("GET", f"/project/{self.project.id}/tasks/{task_id}/output")
        assert status == 200
        return [line["output"] for line in lines]


def finished(task: dict) -> bool:
    return task["status"] in ("success", "error", "stopped")


def job_process_gone(marker: str) -> bool:
    return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode != 0


def wait_for_line(world: World, task_id: int, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in world.output(task_id)):
        assert time.monotonic() < deadline, f"{text!r} not stored in {timeout} s"
        time.sleep(0.05)


def test_two_runners_run_their_tagged_tasks_live_and_stop_at_once(app, config, processes, tmp_path):
    world = World(processes, config, tmp_path, runner_timeout=30)
    hello = world.template("hello.sh", "dmz")
    play = world.template("site.yml", "lan", app="ansible")
    slow = world.template("slow.sh", "dmz")

    # No runner yet: the task waits, and says for what.
    first = world.run(hello)
    time.sleep(1.5)
    assert world.task(first)["status"] == "waiting"
    assert world.task(first)["waiting_reason"] == "no active runner with tag `dmz`"

    dmz_process, dmz = world.runner("dmz", "dmz")
    lan_process, lan = world.runner("lan", "lan")
    time.sleep(1.5)  # registered runners are inactive until an admin says otherwise
    assert world.task(first)["status"] == "waiting"

    # Live output through the WebSocket, open before the runner starts the task.
    ws = connect(world.address, world.owner_token, f"?task_id={first}")
    for runner_id in (dmz, lan):
        status, _ = world.admin.call("POST", f"/runners/{runner_id}/active", {"active": True})
        assert status == 204
    activated = time.monotonic()
    world.wait_for(first, lambda t: t["status"] != "waiting", 2.0, "started within 2 s")
    started_after = time.monotonic() - activated
    messages = receive_until(
        ws, lambda ms: any(m["type"] == "update" and m["status"] == "success" for m in ms), 60
    )
    ws.close()
    live = [line["output"] for m in messages if m["type"] == "output" for line in m["lines"]]
    assert [line for line in live if line.startswith("hello ")] == [
        f"hello {n}" for n in range(1, 6)
    ]
    done = world.wait_for(first, finished, 60, "finished")
    assert (done["status"], done["runner_id"]) == ("success", dmz), world.output(first)
    assert [x for x in world.output(first) if x.startswith("hello ")] == [
        f"hello {n}" for n in range(1, 6)
    ]

    # Ansible on the runner tagged lan.
    played = world.run(play)
    done = world.wait_for(played, finished, 120, "finished")
    assert (done["status"], done["runner_id"]) == ("success", lan), world.output(played)
    assert any("hello from ansible" in line for line in world.output(played))

    # Stop, then force stop: the job's process is gone within 2 s of the request.
    for body in ({}, {"force": True}):
        stopping = world.run(slow)
        wait_for_line(world, stopping, "slow start")
        assert not job_process_gone("sleep 6001")
        asked = time.monotonic()
        status, _ = world.owner.call(
            "POST", f"/project/{world.project.id}/tasks/{stopping}/stop", body
        )
        assert status == 204
        while not job_process_gone("sleep 6001"):
            assert time.monotonic() - asked < 2.0, f"the job outlived its stop {body} by 2 s"
            time.sleep(0.02)
        done = world.wait_for(stopping, finished, 20, "finished")
        assert done["status"] == "stopped" and done["runner_id"] == dmz
        assert "never" not in world.output(stopping)
    print(f"\nstarted {started_after:.2f} s after activation")  # noqa: T201
    assert dmz_process.poll() is None and lan_process.poll() is None


def test_a_killed_runner_ends_its_task_and_frees_its_template(app, config, processes, tmp_path):
    world = World(processes, config, tmp_path, runner_timeout=8)
    slow = world.template("slow.sh", "dmz")
    dmz_process, dmz = world.runner("dmz", "dmz")
    _, lan = world.runner("lan", "lan")
    for runner_id in (dmz, lan):
        world.admin.call("POST", f"/runners/{runner_id}/active", {"active": True})

    # SIGKILL the runner mid-task: the task ends error with its output kept.
    victim = world.run(slow)
    wait_for_line(world, victim, "slow start")
    os.killpg(dmz_process.pid, signal.SIGKILL)
    killed = time.monotonic()
    queued = world.run(world.template("hello.sh", "dmz"))
    done = world.wait_for(victim, finished, 60, "ended after its runner died")
    assert done["status"] == "error"
    print(f"\nended {time.monotonic() - killed:.1f} s after the kill")  # noqa: T201
    lines = world.output(victim)
    assert "slow start" in lines and "has not reported for 8 s" in lines[-1]
    # The other runner has another tag: the queued task waits, saying why, and the
    # template of the killed task is free (a new task of it waits for a runner, not for it).
    assert world.task(queued)["waiting_reason"] == "no active runner with tag `dmz`"
    again = world.run(slow)
    assert world.task(again)["waiting_reason"] == "no active runner with tag `dmz`"
    world.owner.call("POST", f"/project/{world.project.id}/tasks/{again}/stop", {})
    subprocess.run(["pkill", "-f", "sleep 6001"])  # the killed runner's orphaned job


def test_a_runners_secrets_come_only_through_its_job_and_are_masked(
    app, config, processes, tmp_path
):
    world = World(processes, config, tmp_path, runner_timeout=30)
    access = project_access(db.session.get(User, world.owner_id), world.project.id)
    environment = environments.create_environment(
        access,
        {
            "name": "prod",
            "json": "{}",
            "secrets": [
                {"type": "env", "name": "DEPLOY_TOKEN", "secret": ENV_SECRET, "operation": "create"}
            ],
        },
    )
    template = world.template("secrets.yml", "vault", app="ansible")
    row = db.session.get(Template, template)
    row.environment_id = environment.id
    row.survey_vars = [{"name": "db_password", "title": "Password", "type": "secret"}]
    db.session.commit()
    process, runner_id = world.runner("vault", "vault")
    world.admin.call("POST", f"/runners/{runner_id}/active", {"active": True})
    status, body = world.owner.call(
        "POST",
        f"/project/{world.project.id}/tasks",
        {"template_id": template, "secret": json.dumps({"db_password": SURVEY_SECRET})},
    )
    assert status == 201, body
    done = world.wait_for(body["id"], finished, 120, "finished")
    lines = world.output(body["id"])
    assert done["status"] == "success" and done["runner_id"] == runner_id, lines
    assert any("survey ******** env ********" in line for line in lines), lines
    assert not any(SURVEY_SECRET in line or ENV_SECRET in line for line in lines)
    db.session.rollback()
    assert db.session.get(Task, body["id"]).secret is None  # kept only for the run
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    runner_log = b"".join(path.read_bytes() for path in tmp_path.glob("runner-vault-*.log"))
    assert runner_log and SURVEY_SECRET.encode() not in runner_log
    assert ENV_SECRET.encode() not in runner_log


def test_a_runner_whose_server_restarts_mid_task_finishes_and_reports(
    app, config, processes, tmp_path
):
    # runner_timeout at its default: the restart (slow on a loaded machine) stays inside it.
    world = World(processes, config, tmp_path, runner_timeout=30)
    steady = world.template("steady.sh", "lan")
    _, lan = world.runner("lan", "lan")
    world.admin.call("POST", f"/runners/{lan}/active", {"active": True})
    # The server restarts mid-task: the runner finishes and reports every line, once.
    running = world.run(steady)
    wait_for_line(world, running, "steady 5")
    world.web.send_signal(signal.SIGTERM)
    world.web.wait(timeout=30)
    time.sleep(2)
    world.web = world.start_web()
    done = world.wait_for(running, finished, 60, "finished after the restart")
    assert (done["status"], done["runner_id"]) == ("success", lan)
    assert [x for x in world.output(running) if x.startswith("steady ")] == [
        f"steady {n}" for n in range(1, 41)
    ]
    db.session.rollback()
    assert db.session.get(Task, running).status == "success"
    assert task_output.last_seq(running) >= 40
