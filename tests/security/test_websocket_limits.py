"""/api/ws against real `semaphore server` processes (issue 15): a browser page of another
origin is refused before the upgrade (cross-site WebSocket hijacking), and open sockets are
limited per user and per address across web processes, and per process, each refusal an HTTP
answer with a JSON body before any upgrade; pages and the API keep answering meanwhile.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import time
import urllib.request

import pytest
from simple_websocket import Client, ConnectionClosed
from simple_websocket import ConnectionError as HandshakeRefused

from tests import factories
from tests.live.conftest import connect

pytestmark = pytest.mark.single_db


def _upgrade(address: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """A raw upgrade request: the status, headers and body of the answer."""
    host, port = address.split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /api/ws HTTP/1.1",
        f"Host: {address}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        parsed = dict(
            line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if line
        )
        length = int(parsed.get("Content-Length", 0))
        while len(body) < length:
            body += sock.recv(65536)
    return int(head.split(b" ")[1]), {k.lower(): v for k, v in parsed.items()}, body


def _close(*sockets: Client) -> None:
    for ws in sockets:
        with contextlib.suppress(ConnectionClosed):
            ws.close()


def _refused(address: str, token: str, **headers: str) -> HandshakeRefused:
    with pytest.raises(HandshakeRefused) as refused:
        Client.connect(
            f"ws://{address}/api/ws", headers={"Authorization": f"Bearer {token}", **headers}
        )
    return refused.value


def _connect_when_free(address: str, token: str, timeout: float = 15) -> Client:
    """A socket, once the server has noticed that an earlier one closed (within a second)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect(address, token)
        except HandshakeRefused as refused:
            if refused.status_code != 429 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_an_upgrade_from_another_origin_is_refused_before_the_upgrade(app, processes):
    user = factories.user()
    token = factories.api_token(user)
    address = processes.web()
    status, headers, body = _upgrade(
        address, {"Authorization": f"Bearer {token}", "Origin": "http://evil.example"}
    )
    assert status == 403 and "upgrade" not in headers.get("connection", "").lower()
    assert json.loads(body) == {"error": "Cross-site request refused"}
    assert _refused(address, token, Origin="http://evil.example").status_code == 403
    # A sibling site is another origin too, as a browser says with Sec-Fetch-Site.
    assert _refused(address, token, **{"Sec-Fetch-Site": "same-site"}).status_code == 403
    # The page's own origin (and a client that sends none) is let in.
    own = connect(address, token, "")
    _close(own)
    status, headers, _ = _upgrade(
        address, {"Authorization": f"Bearer {token}", "Origin": f"http://{address}"}
    )
    assert status == 101


def test_sockets_per_user_are_limited_across_web_processes(app, processes):
    user, other = factories.user(), factories.user()
    token, other_token = factories.api_token(user), factories.api_token(other)
    limits = {"SEMAPHORE_WEBSOCKET_MAX_PER_USER": "3"}
    first, second = processes.web(**limits), processes.web(**limits)
    held = [connect(first, token), connect(second, token), connect(first, token)]
    try:
        for address in (first, second):
            refused = _refused(address, token)
            assert refused.status_code == 429, address
        status, headers, body = _upgrade(second, {"Authorization": f"Bearer {token}"})
        assert status == 429 and int(headers["retry-after"]) > 0
        assert json.loads(body) == {"error": "Too many open live connections for this user"}
        # Another user is not affected.
        _close(connect(second, other_token))
        # A closed socket frees its place.
        _close(held.pop())
        held.append(_connect_when_free(second, token))
    finally:
        _close(*held)


def test_sockets_per_address_are_limited(app, processes):
    tokens = [factories.api_token(factories.user()) for _ in range(3)]
    address = processes.web(SEMAPHORE_WEBSOCKET_MAX_PER_ADDRESS="4")
    held = [connect(address, tokens[n % 3]) for n in range(4)]
    try:
        refused = _refused(address, tokens[2])
        assert refused.status_code == 429
    finally:
        _close(*held)


def test_a_full_web_process_refuses_sockets_and_still_serves_pages(app, processes):
    user = factories.user()
    token = factories.api_token(user)
    # 8 threads: 6 for sockets, 2 kept for everything else.
    address = processes.web(threads=8, SEMAPHORE_WEBSOCKET_MAX_PER_USER="0")
    held = [connect(address, token) for _ in range(6)]
    try:
        assert _refused(address, token).status_code == 503
        for _ in range(5):
            with urllib.request.urlopen(f"http://{address}/api/ping", timeout=5) as answer:  # noqa: S310
                assert answer.status == 200
    finally:
        _close(*held)
