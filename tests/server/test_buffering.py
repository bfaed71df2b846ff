"""RequestBuffer: when a request that arrives in pieces is complete, and what it refuses."""

from __future__ import annotations

import json

import pytest

from semaphore.server.buffering import (
    RequestBuffer,
    RequestLimits,
    RequestRefused,
    error_response,
    is_api_target,
)

LIMITS = RequestLimits(max_request_line=100, max_head=1000, max_body=50)


def _fed_bytewise(data: bytes) -> list[bool]:
    buffer = RequestBuffer(LIMITS)
    return [buffer.feed(data[n : n + 1]) for n in range(len(data))]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\r\nGET / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\ncontent-length:  3 \r\n\r\nabc",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n2;x=y\r\nab\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    ],
)
def test_complete_exactly_when_the_last_byte_arrives(request_bytes):
    done = _fed_bytewise(request_bytes)
    assert done[-1] and not any(done[:-1])
    assert RequestBuffer(LIMITS, request_bytes).complete


@pytest.mark.parametrize(
    "request_bytes",
    [
        # Framing gunicorn refuses at once: handed over as soon as the head is in.
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
    ],
)
def test_malformed_framing_is_left_to_gunicorn_without_waiting(request_bytes):
    assert RequestBuffer(LIMITS, request_bytes).complete


def test_an_unfinished_request_is_not_complete():
    for partial in (
        b"GET / HTTP/1.1\r\nHost: x\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhell",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    ):
        assert not RequestBuffer(LIMITS, partial).complete


@pytest.mark.parametrize(
    "request_bytes,status",
    [
        (b"GET /" + b"a" * 200, 414),
        (b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 300, 431),
        (b"POST / HTTP/1.1\r\nContent-Length: 51\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n", 413),
    ],
)
def test_too_long_or_too_big_is_refused(request_bytes, status):
    with pytest.raises(RequestRefused) as refused:
        RequestBuffer(LIMITS, request_bytes)
    assert refused.value.status == status


def test_expect_continue_only_matters_with_a_body_to_come():
    waiting = RequestBuffer(
        LIMITS, b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    )
    assert waiting.expects_continue and not waiting.complete
    bodiless = RequestBuffer(LIMITS, b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n")
    assert not bodiless.expects_continue and bodiless.complete


def test_the_body_deadline_grows_with_what_arrives():
    buffer = RequestBuffer(LIMITS, b"POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n")
    assert buffer.deadline(0.0, None) == LIMITS.header_timeout
    before = buffer.deadline(0.0, 1.0)
    buffer.feed(b"x" * 20)
    assert buffer.deadline(0.0, 1.0) > before == 1.0 + LIMITS.body_timeout


@pytest.mark.parametrize(
    "target,root,api",
    [
        (b"/api", "", True),
        (b"/api/ping?x=1", "", True),
        (b"http://h/api/ping", "", True),
        (b"/apix", "", False),
        (b"/project/1", "", False),
        (b"/sem/api/ping", "/sem", True),
        (b"/api/ping", "/sem", False),
    ],
)
def test_which_answers_are_json(target, root, api):
    assert is_api_target(target, root) is api


def test_error_answers():
    answer = error_response(431, "Request headers too large", api=True)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"Content-Type: application/json" in head and b"Connection: close" in head
    assert json.loads(body) == {"error": "Request headers too large"}
    assert f"Content-Length: {len(body)}".encode() in head
    page = error_response(408, "<slow>", api=False)
    assert b"text/html" in page and b"&lt;slow&gt;" in page and b"<slow>" not in page
    assert b"Retry-After: 5" in error_response(503, "busy", api=True)
