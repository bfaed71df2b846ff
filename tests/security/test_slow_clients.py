"""Slow and malformed HTTP clients against a real `semaphore server` (issue 15).

The web must not be held by unfinished requests: 300 clients that send half a request and
then trickle keep no thread, so `/api/ping` from another client still answers (checked with a
client timeout, not a stopwatch; bench/test_slow_clients.py has the figures). What the server
refuses itself (too slow, too long, too large, unparseable) is answered as JSON under /api
and as a short page elsewhere, never with gunicorn's HTML.
"""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest
import requests

from tests import factories

pytestmark = pytest.mark.single_db

SLOW_CLIENTS = 300


def _ping(address: str) -> int:
    with urllib.request.urlopen(f"http://{address}/api/ping", timeout=5) as response:  # noqa: S310
        assert response.read() == b"pong"
        return response.status


def _connect(address: str) -> socket.socket:
    host, port = address.split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _exchange(address: str, data: bytes) -> bytes:
    """Send raw bytes; everything the server answers until it closes the connection."""
    with _connect(address) as sock:
        sock.sendall(data)
        return _read_to_close(sock)


def _read_to_close(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def _status_and_body(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body


def half_sent_requests(address: str, count: int) -> list[socket.socket]:
    sockets = []
    for n in range(count):
        sock = _connect(address)
        if n % 2:  # a head that never ends
            sock.sendall(b"GET /api/ping HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:  # a body that never ends
            sock.sendall(
                b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n{"
            )
        sockets.append(sock)
    return sockets


def test_three_hundred_half_sent_requests_do_not_stop_the_web(app, processes):
    user = factories.user()
    # One worker with 16 threads: far fewer threads than slow clients.
    address = processes.web(workers=1, threads=16)
    slow = half_sent_requests(address, SLOW_CLIENTS)
    try:
        for _ in range(5):
            for sock in slow:
                sock.send(b"x")  # still sending, never finishing
            assert _ping(address) == 200
        login = requests.post(
            f"http://{address}/api/auth/login",
            json={"auth": user.username, "password": factories.DEFAULT_PASSWORD},
            timeout=5,
        )
        assert login.status_code == 204
    finally:
        for sock in slow:
            sock.close()
    assert _ping(address) == 200


def test_a_request_not_sent_in_time_is_answered_408(app, processes):
    address = processes.web(
        SEMAPHORE_WEB_HEADER_TIMEOUT_SEC="1", SEMAPHORE_WEB_BODY_TIMEOUT_SEC="1"
    )
    with _connect(address) as head, _connect(address) as body, _connect(address) as page:
        head.sendall(b"GET /api/ping HTTP/1.1\r\nHost: x\r\n")
        body.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
        page.sendall(b"GET /auth/login HTTP/1.1\r\nHost: x\r\n")
        for sock in (head, body):
            status, headers, answer = _status_and_body(_read_to_close(sock))
            assert status == 408
            assert headers["content-type"] == "application/json"
            assert json.loads(answer) == {
                "error": "Request timeout: the request was not sent in time"
            }
        status, headers, answer = _status_and_body(_read_to_close(page))
        assert status == 408 and headers["content-type"].startswith("text/html")
    assert _ping(address) == 200


@pytest.mark.parametrize(
    "request_bytes,status,message",
    [
        (b"GET /api/ping?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URI too long"),
        (
            b"GET /api/ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
            431,
            "Request headers too large",
        ),
        (
            b"GET /api/ping HTTP/1.1\r\nHost: x\r\n" + b"X-Many: many\r\n" * 6000 + b"\r\n",
            431,
            "Request headers too large",
        ),
        (
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{",
            413,
            "Request body too large",
        ),
        (
            b"GET /api/ping HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
            400,
            "Bad request: Invalid HTTP header name: 'Bad Header'",
        ),
        (
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            400,
            "Bad request: Invalid HTTP Header: 'TRANSFER-ENCODING'",
        ),
    ],
    ids=["uri", "one-header", "many-headers", "body", "header-name", "coding"],
)
def test_what_the_server_refuses_itself_is_json_under_api(
    app, processes, request_bytes, status, message
):
    address = processes.web()
    got, headers, body = _status_and_body(_exchange(address, request_bytes))
    assert (got, headers["content-type"]) == (status, "application/json")
    assert json.loads(body) == {"error": message}
    assert headers["connection"] == "close"


def test_and_a_short_page_elsewhere(app, processes):
    address = processes.web()
    answer = _exchange(address, b"GET /auth/login?q=" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n")
    status, headers, body = _status_and_body(answer)
    assert status == 414 and headers["content-type"] == "text/html; charset=utf-8"
    assert b"URI too long" in body and b"gunicorn" not in answer.lower()


def test_chunked_bodies_expect_continue_and_pipelining_still_work(app, processes):
    user = factories.user()
    address = processes.web()
    credentials = json.dumps({"auth": user.username, "password": factories.DEFAULT_PASSWORD})

    def chunks():
        for n in range(0, len(credentials), 7):
            yield credentials[n : n + 7].encode()

    chunked = requests.post(f"http://{address}/api/auth/login", data=chunks(), timeout=5)
    assert chunked.status_code == 204

    with _connect(address) as sock:
        body = credentials.encode()
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = _read_to_close(sock)
    assert answer.startswith(b"HTTP/1.1 204 ") and b"100 Continue" not in answer

    two = b"GET /api/ping HTTP/1.1\r\nHost: x\r\n\r\n"
    two += b"GET /api/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answers = _exchange(address, two)
    assert answers.count(b"HTTP/1.1 200 OK") == 2 and answers.endswith(b"pong")
