"""Real servers for the test suite: a throwaway PostgreSQL cluster, Redis and sshd on loopback.

Started by session fixtures in conftest.py (one set per pytest-xdist worker) and stopped when
the session ends. The commands are those of the stack notes (PostgreSQL as root needs its own
directory owned by `postgres`).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _pg_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError("PostgreSQL is not installed (make test installs it)")
    return Path(candidates[-1]).parent


@dataclass
class Postgres:
    """A PostgreSQL cluster in its own directory, on a loopback port."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, command: str) -> None:
        if os.geteuid() == 0:
            subprocess.run(
                ["su", "postgres", "-s", "/bin/sh", "-c", command],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        else:
            subprocess.run(["/bin/sh", "-c", command], check=True, stdout=subprocess.DEVNULL)

    def start(self) -> Postgres:
        pg_bin = _pg_bin()
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        self._as_postgres(
            f"{pg_bin}/initdb -D {data} -U postgres -A trust -E UTF8 --no-sync "
            f"> {self.root}/initdb.log"
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._as_postgres(
            f"{pg_bin}/pg_ctl -D {data} -l {self.root}/server.log -w -o '{options}' start"
        )
        return self

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self._as_postgres(f"{_pg_bin()}/pg_ctl -D {self.root / 'data'} -m immediate -w stop")
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class RedisServer:
    """Debian's redis-server on a loopback port; it can be stopped and restarted by tests."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.root.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--logfile",
                str(self.root / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None
