"""Live-update tests: the app served on a loopback port, with WebSocket clients."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from simple_websocket import Client, ConnectionClosed
from werkzeug.serving import make_server


@pytest.fixture
def live_url(app) -> Iterator[str]:
    """The test's app over HTTP on a loopback port, in threads (WebSockets included)."""
    before = set(threading.enumerate())
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    # Socket threads notice their closed clients within a second; the next test must not
    # start while they still run (CPython 3.11.7 cannot compile in two threads at once).
    for leftover in set(threading.enumerate()) - before:
        if leftover.name != "live-hub":
            leftover.join(timeout=5)


def connect(address: str, token: str | None, query: str = "") -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # Batches of output are big messages: read the socket in big pieces.
    return Client.connect(f"ws://{address}/api/ws{query}", headers=headers, receive_bytes=1 << 20)


def subscribed(address: str, token: str, query: str = "") -> Client:
    """A client connected to the app served in this process, once its stream has subscribed
    to the live channel: only what is published after that reaches it (as by the original)."""
    from semaphore.live.hub import hub

    before = hub().subscription_count()
    ws = connect(address, token, query)
    deadline = time.monotonic() + 10
    while hub().subscription_count() <= before:
        if time.monotonic() > deadline:
            ws.close()
            raise AssertionError("the stream did not subscribe within 10 s")
        time.sleep(0.01)
    return ws


def receive_until(
    ws: Client, done: Callable[[list[dict]], bool], timeout: float = 20
) -> list[dict]:
    """Messages received until `done(messages)` holds; fails after `timeout`."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout
    while not done(messages):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"not received in {timeout} s; got {messages[-5:]}")
        try:
            raw = ws.receive(timeout=min(remaining, 1))
        except ConnectionClosed:
            raise AssertionError(f"closed early; got {messages[-5:]}") from None
        if raw is not None:
            messages.append(json.loads(raw))
    return messages


def quiet_for(ws: Client, seconds: float) -> list[dict]:
    """Whatever arrives within `seconds` (to show that nothing does)."""
    received = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            raw = ws.receive(timeout=max(deadline - time.monotonic(), 0.01))
        except ConnectionClosed:
            break
        if raw is not None:
            received.append(json.loads(raw))
    return received
