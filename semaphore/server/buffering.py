"""One HTTP/1 request read as it arrives, before any thread is given to it; and the short
answers the server sends itself (408, 413, 414, 431, 503 and gunicorn's own 400s).

`RequestBuffer` is fed whatever the socket had, without blocking, and says when the request's
head and body are complete. It checks only what it needs for that (the head's end, the
request line's length, Content-Length or chunked framing, Expect): gunicorn's parser still
validates everything once the whole request is there, so it never waits on the client.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http import HTTPStatus

# One second more to send a body for every this many bytes received: a client that keeps
# sending at least this fast (8 KiB/s) is never cut off, a trickle is.
BODY_BYTES_PER_SECOND = 8192
MAX_CHUNK_LINE = 1024
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")

MESSAGES = {
    400: "Bad request",
    408: "Request timeout: the request was not sent in time",
    413: "Request body too large",
    414: "URI too long",
    431: "Request headers too large",
    500: "Internal server error",
    501: "Not implemented",
    503: "Server busy; try again later",
}


@dataclass(frozen=True)
class RequestLimits:
    """How long and how big a request may be before the server refuses it itself."""

    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_request_line: int = 8190
    max_head: int = 64 * 1024
    max_body: int = 16 * 1024 * 1024
    # Path prefix of web_host ("" or "/prefix"): answers under <prefix>/api are JSON.
    root_path: str = ""


class RequestRefused(Exception):
    """The request cannot be served; the server answers `status` and closes."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(status, HTTPStatus(status).phrase))
        self.status = status
        self.message = message or MESSAGES.get(status, HTTPStatus(status).phrase)


class _Chunks:
    """Where a chunked body ends: size lines, each chunk's data and CRLF, then trailers."""

    SIZE, DATA, DATA_END, TRAILERS = range(4)

    def __init__(self, start: int) -> None:
        self.pos = start
        self.state = self.SIZE
        self.remaining = 0
        self.size = 0

    def scan(self, data: bytearray, max_body: int) -> bool | None:
        """True once the body ended, False while more is to come; None when the framing is
        wrong (gunicorn's parser then refuses it from the bytes already here)."""
        while True:
            if self.state == self.DATA:
                step = min(self.remaining, len(data) - self.pos)
                self.pos += step
                self.remaining -= step
                if self.remaining:
                    return False
                self.state = self.DATA_END
            line_end = _LINE_END.search(data, self.pos)
            if line_end is None:
                if len(data) - self.pos > MAX_CHUNK_LINE:
                    return None
                return False
            line = bytes(data[self.pos : line_end.start()])
            self.pos = line_end.end()
            if self.state == self.TRAILERS:
                if not line:
                    return True
            elif self.state == self.DATA_END:
                if line:
                    return None
                self.state = self.SIZE
            else:
                size_text = line.split(b";", 1)[0].strip()
                if not re.fullmatch(rb"[0-9a-fA-F]{1,16}", size_text):
                    return None
                self.remaining = int(size_text, 16)
                self.size += self.remaining
                if self.size > max_body:
                    raise RequestRefused(413)
                self.state = self.DATA if self.remaining else self.TRAILERS


class RequestBuffer:
    """The bytes of one request so far; `feed` says whether it is complete.

    Raises RequestRefused from `feed` for a request line or head that is too long, or a
    declared body that is too big.
    """

    def __init__(self, limits: RequestLimits, initial: bytes = b"") -> None:
        self.limits = limits
        self.data = bytearray()
        self.head_end = -1
        self.line_complete = False
        self.body_start = 0
        self.body_length: int | None = 0  # None: chunked
        self.chunks: _Chunks | None = None
        self.expects_continue = False
        self.complete = False
        if initial:
            self.feed(initial)

    @property
    def received_anything(self) -> bool:
        return bool(self.data)

    @property
    def head_complete(self) -> bool:
        return self.head_end >= 0

    @property
    def body_received(self) -> int:
        return max(len(self.data) - self.body_start, 0) if self.head_complete else 0

    def feed(self, chunk: bytes) -> bool:
        """Add bytes read from the client; True once the whole request is here."""
        if not self.data:
            chunk = chunk.lstrip(b"\r\n")  # empty lines before a request are ignored
        scanned = len(self.data)
        self.data += chunk
        if not self.head_complete:
            self._scan_head(scanned)
        if self.head_complete and not self.complete:
            self.complete = self._body_complete()
        return self.complete

    def _scan_head(self, scanned: int) -> None:
        if not self.line_complete:
            line_end = self.data.find(b"\n")
            self.line_complete = line_end >= 0
            length = line_end if line_end >= 0 else len(self.data)
            if length > self.limits.max_request_line + 1:
                raise RequestRefused(414)
        end = _HEAD_END.search(self.data, max(scanned - 3, 0))
        if end is None:
            if len(self.data) > self.limits.max_head:
                raise RequestRefused(431)
            return
        if end.end() > self.limits.max_head:
            raise RequestRefused(431)
        self.head_end = self.body_start = end.end()
        self._read_framing(bytes(self.data[: end.start()]))

    def _read_framing(self, head: bytes) -> None:
        length = coding = None
        for raw in _LINE_END.split(head)[1:]:
            name, _, value = raw.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                coding = value.lower()
            elif name == b"expect" and value.lower() == b"100-continue":
                self.expects_continue = True
        if coding is not None:
            # Only a final "chunked" coding is framed here; gunicorn refuses anything else
            # (and a Content-Length beside it) without reading further.
            last = coding.rsplit(b",", 1)[-1].strip()
            self.body_length = None if last == b"chunked" and length is None else 0
            if self.body_length is None:
                self.chunks = _Chunks(self.body_start)
        elif length is not None and length.isdigit():
            self.body_length = int(length)
            if self.body_length > self.limits.max_body:
                raise RequestRefused(413)
        else:
            self.body_length = 0  # no body, or a malformed length gunicorn answers 400 for
        if not self.body_length and self.chunks is None:
            self.expects_continue = False

    def _body_complete(self) -> bool:
        if self.chunks is None:
            return self.body_received >= (self.body_length or 0)
        done = self.chunks.scan(self.data, self.limits.max_body)
        return done is None or done

    def deadline(self, started: float, head_done_at: float | None) -> float:
        """When the client must have sent the rest (monotonic seconds)."""
        if head_done_at is None:
            return started + self.limits.header_timeout
        return head_done_at + self.limits.body_timeout + self.body_received / BODY_BYTES_PER_SECOND

    def is_api(self) -> bool:
        """Whether the request is for the JSON API (the answer is then JSON)."""
        line = bytes(self.data[: self.limits.max_request_line + 1]).split(b"\n", 1)[0]
        parts = line.split(b" ", 2)
        return len(parts) > 1 and is_api_target(parts[1], self.limits.root_path)


def is_api_target(target: bytes, root_path: str = "") -> bool:
    """True for a request target under <root_path>/api."""
    path = target.split(b"?", 1)[0].split(b"#", 1)[0]
    if b"://" in path:  # absolute-form: http://host/path
        path = b"/" + path.split(b"://", 1)[1].partition(b"/")[2]
    api = (root_path.rstrip("/") + "/api").encode()
    return path == api or path.startswith(api + b"/")


def error_response(status: int, message: str, api: bool) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection: JSON for the API, else a page."""
    reason = HTTPStatus(status).phrase
    if api:
        body = json.dumps({"error": message}).encode()
        content_type = "application/json"
    else:
        text = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = (
            f'<!doctype html><html lang="en"><meta charset="utf-8">'
            f"<title>{status} {reason}</title><h1>{status} {reason}</h1><p>{text}</p></html>\n"
        ).encode()
        content_type = "text/html; charset=utf-8"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Content-Security-Policy: default-src 'none'\r\n"
        "Cache-Control: no-store\r\n" + ("Retry-After: 5\r\n" if status == 503 else "") + "\r\n"
    )
    return head.encode("latin-1") + body
