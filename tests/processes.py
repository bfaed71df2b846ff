"""Real `semaphore worker` and `semaphore server` processes for a test, as the Procfile starts
them, sharing the test's database and Redis. Each runs in a process group of its own and is
stopped (then killed) when the test ends.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from semaphore.config import Config

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"


def process_env(config: Config, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SEMAPHORE_DB_URL=config.database_url,
        SEMAPHORE_REDIS_URL=config.redis_url,
        SEMAPHORE_DATA_DIR=config.data_dir,
        SEMAPHORE_TMP_PATH=config.tmp_path,
        SEMAPHORE_COOKIE_HASH=config.cookie_hash,
        SEMAPHORE_COOKIE_ENCRYPTION=config.cookie_encryption,
        SEMAPHORE_ACCESS_KEY_ENCRYPTION=config.access_key_encryption,
        SEMAPHORE_MAX_PARALLEL_TASKS=str(config.max_parallel_tasks),
        SEMAPHORE_MAX_TASK_DURATION_SEC=str(config.max_task_duration_sec),
        SEMAPHORE_LOG_LEVEL="WARNING",
        SEMAPHORE_TASK_SANDBOX=str(config.task_sandbox).lower(),
        SEMAPHORE_TASK_SANDBOX_PATHS=json.dumps(list(config.task_sandbox_paths)),
        SEMAPHORE_LOCAL_REPOSITORY_ROOTS=json.dumps(list(config.local_repository_roots)),
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback test URL
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


class Processes:
    """Starts processes for one test and stops them all afterwards."""

    def __init__(self, config: Config, log_dir: Path) -> None:
        self.config = config
        self.log_dir = log_dir
        self.started: list[subprocess.Popen] = []

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}-{len(self.started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "semaphore", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def worker(self, **extra: str) -> subprocess.Popen:
        """A `semaphore worker`; `extra` are more environment variables."""
        return self._start("worker", ["worker"], process_env(self.config, **extra))

    def web(self, workers: int = 1, threads: int = 16, **extra: str) -> str:
        """A `semaphore server` (gunicorn) on a free loopback port; returns host:port.
        `extra` are more environment variables (SEMAPHORE_WEBSOCKET_MAX_PER_USER="3")."""
        port = free_port()
        env = process_env(
            self.config,
            SEMAPHORE_PORT=str(port),
            SEMAPHORE_INTERFACE="127.0.0.1",
            SEMAPHORE_WEB_WORKERS=str(workers),
            SEMAPHORE_WEB_THREADS=str(threads),
            **extra,
        )
        self._start("web", ["server"], env)
        wait_for_http(f"http://127.0.0.1:{port}/api/ping")
        return f"127.0.0.1:{port}"

    def scheduler(self, **extra: str) -> subprocess.Popen:
        """A `semaphore scheduler`; `extra` are more environment variables."""
        return self._start("scheduler", ["scheduler"], process_env(self.config, **extra))

    def procfile(self, workers: int = 1, threads: int = 16) -> tuple[subprocess.Popen, str]:
        """The Procfile's three processes under honcho, as `make run` starts them; returns
        honcho's process and the web's host:port."""
        port = free_port()
        env = process_env(
            self.config,
            SEMAPHORE_PORT=str(port),
            SEMAPHORE_INTERFACE="127.0.0.1",
            SEMAPHORE_WEB_WORKERS=str(workers),
            SEMAPHORE_WEB_THREADS=str(threads),
        )
        env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
        log = open(self.log_dir / f"honcho-{len(self.started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "honcho"), "start", "-f", str(PROCFILE)],
            cwd=str(PROCFILE.parent),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        wait_for_http(f"http://127.0.0.1:{port}/api/ping")
        return process, f"127.0.0.1:{port}"

    def stop(self) -> None:
        # A worker's janitor and a run's sandbox have sessions of their own: a test that fails
        # mid-task must not leave them (and the task) running once the worker is gone.
        below = [pid for process in self.started for pid in descendants(process.pid)]
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def descendants(pid: int) -> list[int]:
    """The processes below pid, children first (a snapshot of /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(0), []):
            found.append(child)
            pending.append(child)
    return found
