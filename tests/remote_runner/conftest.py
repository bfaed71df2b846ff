"""A real server and a real runner: the test's app served over HTTP on a loopback port (it can
be stopped and started again on the same port), and `semaphore runner ...` run as a
subprocess whose environment has no database or Redis URL.

Server-side dispatch is not what these tests are about: a test hands a task to the runner
the way dispatch does, in the database (status `starting`, runner_id set), which is what the
poll's `new_jobs` serves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from semaphore.config import Config
from semaphore.extensions import db
from semaphore.models import Runner, Task
from semaphore.services.tasks import output as task_output
from tests import factories
from tests.processes import free_port

REGISTRATION_TOKEN = "test-registration-token"
STUBS = Path(__file__).parent.parent / "engine" / "stubs"
SCRIPTS = {
    "hello.sh": 'echo "hello from the runner"\necho "second line"\n',
    "slow.sh": "for i in $(seq 1 600); do echo tick $i; sleep 0.1; done\n",
    "ticks.sh": "for i in $(seq 1 60); do echo tick $i; sleep 0.1; done\n",
    "two.sh": "echo start; sleep 1; echo end\n",
}


class _OneRequestPerConnection(WSGIRequestHandler):
    # Each request on a new connection: once the server is stopped, nothing reaches it
    # through a kept-alive one.
    protocol_version = "HTTP/1.0"

    def log_request(self, *args, **kwargs) -> None:
        pass


class HttpServer:
    """The app on 127.0.0.1:<port>, in a thread; stop() and start() keep the port."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = make_server(
            "127.0.0.1",
            self.port,
            self.app,
            threaded=True,
            request_handler=_OneRequestPerConnection,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None


@pytest.fixture
def config_overrides() -> dict:
    return {"runner_registration_token": REGISTRATION_TOKEN}


@pytest.fixture
def server(app) -> Iterator[HttpServer]:
    served = HttpServer(app)
    served.start()
    yield served
    served.stop()


class RunnerCli:
    """`python -m semaphore runner ...` in a directory of its own, with only runner settings."""

    def __init__(self, root: Path, server_url: str, config: Config) -> None:
        self.root = root
        self.token_file = root / "secrets" / "runner.token"
        self.data_dir = root / "data"
        root.mkdir(parents=True, exist_ok=True)
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("SEMAPHORE_")
        }
        self.env.update(
            SEMAPHORE_WEB_ROOT=server_url,
            SEMAPHORE_DATA_DIR=str(self.data_dir),
            SEMAPHORE_TMP_PATH=str(root / "tmp"),
            SEMAPHORE_RUNNER_TOKEN_FILE=str(self.token_file),
            SEMAPHORE_LOG_LEVEL="DEBUG",
            SEMAPHORE_TASK_SANDBOX=str(config.task_sandbox).lower(),
        )
        self.started: list[subprocess.Popen] = []

    def run(
        self, *args: str, stdin: str = "", config: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess:
        """`semaphore runner <args>`, with --config when given, else --no-config."""
        options = ["--config", str(config)] if config else ["--no-config"]
        return subprocess.run(
            [sys.executable, "-m", "semaphore", *options, "runner", *args],
            input=stdin,
            env={**self.env, **env},
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def register(self, **env: str) -> Runner:
        done = self.run("register", "--stdin-registration-token", stdin=REGISTRATION_TOKEN, **env)
        assert done.returncode == 0, done.stderr
        db.session.expire_all()
        return db.session.scalars(select(Runner).order_by(Runner.id.desc())).first()

    def start(self, *args: str, **env: str) -> subprocess.Popen:
        log = open(self.root / f"runner-{len(self.started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "semaphore", "--no-config", "runner", "start", *args],
            env={**self.env, **env},
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def log(self) -> str:
        return "".join(path.read_text() for path in sorted(self.root.glob("runner-*.log")))

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def runner_cli(tmp_path: Path, server: HttpServer, config: Config) -> Iterator[RunnerCli]:
    cli = RunnerCli(tmp_path / "runner", server.url, config)
    yield cli
    cli.stop_all()


@pytest.fixture(scope="module")
def script_repo(tmp_path_factory) -> Path:
    return factories.git_repository(tmp_path_factory.mktemp("runner-scripts"), SCRIPTS, "scripts")


def bash_template(project, repo: Path, script: str):
    repository = factories.repository(project=project, git_url=f"file://{repo}", git_branch="main")
    return factories.template(
        project=project, app="bash", playbook=script, repository_id=repository.id, inventory_id=None
    )


def assign(runner: Runner, template, status: str = "starting") -> Task:
    """A task of the template handed to the runner, as dispatch does."""
    task = Task(
        project_id=template.project_id,
        template_id=template.id,
        status=status,
        runner_id=runner.id,
    )
    db.session.add(task)
    db.session.commit()
    return task


def status_of(task_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Task, task_id).status


def output_of(task_id: int) -> list[str]:
    db.session.expire_all()
    return [line.output for line in task_output.read_lines(task_id)]


def wait_for(condition: Callable[[], bool], timeout: float, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s: {what}")
