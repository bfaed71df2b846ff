"""Slow clients (issue 15): `/api/ping` latency while 300 clients hold half-sent requests open.

Two servers, one worker of 16 threads each, on the test's database, in the same run:
* `semaphore server` (its worker reads each request before a thread runs it);
* gunicorn's stock gthread worker on the same app (`gunicorn -k gthread app:app`), as
  `semaphore server` ran before.
For each: 40 pings with nobody else connected (the baseline), then 40 (10 for the stock
worker, whose pings each wait out their 5 s) pings while 300
clients, half of them sending a head that never ends and half a body that never ends, trickle
a byte each between pings. Reported: median and worst latency, pings that got no answer within
5 s, and the ratio of the loaded median to the idle one. Target: every ping answers, within 1 s.

A second figure: requests per second of 8 keep-alive clients (Python threads in this process,
on the same 2 cores, so a ratio rather than a capacity) for `GET /api/ping` and for a small
`POST /api/auth/login` body, on both servers: what reading requests in the main loop costs.

Run with `make bench`.
"""

from __future__ import annotations

import http.client
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.processes import free_port, process_env, wait_for_http
from tests.security.test_slow_clients import SLOW_CLIENTS, half_sent_requests

pytestmark = pytest.mark.single_db
PINGS = 40


def _ping_ms(address: str) -> float | None:
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://{address}/api/ping", timeout=5) as answer:  # noqa: S310
            answer.read()
    except OSError:
        return None
    return (time.perf_counter() - began) * 1000


def _pings(address: str, trickle: list, count: int = PINGS) -> list[float | None]:
    times = []
    for _ in range(count):
        for sock in trickle:
            try:
                sock.send(b"x")
            except OSError:
                pass
        times.append(_ping_ms(address))
        time.sleep(0.1)
    return times


def _figures(name: str, idle: list[float | None], loaded: list[float | None]) -> str:
    answered = [t for t in loaded if t is not None]
    idle_median = statistics.median(t for t in idle if t is not None)
    if not answered:
        return f"  {name}: idle median {idle_median:.1f} ms; loaded: no ping answered in 5 s"
    median = statistics.median(answered)
    return (
        f"  {name}: idle median {idle_median:.1f} ms; with {SLOW_CLIENTS} slow clients median "
        f"{median:.1f} ms, worst {max(answered):.1f} ms, {len(loaded) - len(answered)}/"
        f"{len(loaded)} unanswered in 5 s; loaded/idle median {median / idle_median:.2f}x"
    )


def _measure(address: str, loaded_pings: int = PINGS) -> tuple[list, list]:
    idle = _pings(address, [])
    slow = half_sent_requests(address, SLOW_CLIENTS)
    try:
        loaded = _pings(address, slow, loaded_pings)
    finally:
        for sock in slow:
            sock.close()
    return idle, loaded


def _stock_gthread(config, log_dir) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(log_dir / "stock-gthread.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "16", "-w", "1"]
        # With an access log, as `semaphore server` writes one.
        + ["-b", f"127.0.0.1:{port}", "--access-logfile", "-", "--no-control-socket", "app:app"],
        env=process_env(config),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_http(f"http://127.0.0.1:{port}/api/ping")
    return process, f"127.0.0.1:{port}"


def test_ping_latency_with_three_hundred_slow_clients(app, config, processes, tmp_path):
    ours = _measure(processes.web(workers=1, threads=16))
    stock, address = _stock_gthread(config, tmp_path)
    try:
        # Each unanswered ping waits its 5 s: ten are enough to show it.
        theirs = _measure(address, loaded_pings=10)
    finally:
        os.killpg(stock.pid, signal.SIGKILL)
        stock.wait(timeout=10)
    print(
        f"\n/api/ping, {PINGS} pings each, one worker of 16 threads:\n"
        + _figures("semaphore server", *ours)
        + "\n"
        + _figures("stock gunicorn gthread", *theirs)
    )
    assert all(t is not None and t < 1000 for t in ours[1])


def _throughput(address: str, method: str, body: bytes | None, seconds: float = 5) -> float:
    host, port = address.split(":")
    done = [0] * 8
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        path = "/api/ping" if method == "GET" else "/api/auth/login"
        while time.monotonic() < stop:
            connection.request(method, path, body=body)
            connection.getresponse().read()
            done[n] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds


def test_requests_per_second_beside_stock_gthread(app, config, processes, tmp_path):
    ours = processes.web(workers=1, threads=16)
    stock, theirs = _stock_gthread(config, tmp_path)
    body = b'{"auth": "nobody", "password": ""}'
    try:
        lines = []
        for name, method, payload in (("GET /api/ping", "GET", None), ("POST login", "POST", body)):
            mine, stock_rate = (_throughput(a, method, payload) for a in (ours, theirs))
            lines.append(
                f"  {name}: semaphore server {mine:,.0f} req/s, stock gthread "
                f"{stock_rate:,.0f} req/s ({mine / stock_rate:.2f}x)"
            )
    finally:
        os.killpg(stock.pid, signal.SIGKILL)
        stock.wait(timeout=10)
    print("\n8 keep-alive clients, one worker of 16 threads:\n" + "\n".join(lines))
