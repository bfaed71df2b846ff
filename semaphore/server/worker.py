"""gunicorn's threaded worker, but a request gets a thread only once it has fully arrived.

gunicorn's gthread worker hands a connection to a thread as soon as its first byte arrives,
and the thread then blocks until the head and body are in: a few hundred clients sending
half a request ("slowloris") hold every thread and the site stops answering. Here the
worker's main loop, which already waits on every idle keep-alive connection with a selector,
also reads new requests without blocking (`RequestBuffer`), within `header_timeout` for the
head and `body_timeout` (plus a second per 8 KiB received) for the body. Only a complete
request reaches the thread pool, with its bytes put back in front of gunicorn's parser, so
threads are spent on running the app (and on open WebSockets), never on waiting for a client.

The worker answers what it refuses itself: 408, 413, 414, 431, 503 when its buffers are full,
and gunicorn's own parse errors (400, 431, 501...), as JSON `{"error": ...}` under /api and a
short page elsewhere, then closes the connection after letting the client read the answer.
"""

from __future__ import annotations

import errno
import selectors
import socket
import threading
import time
from functools import partial
from http import HTTPStatus
from io import BytesIO
from typing import Any

from gunicorn.workers import gthread

from semaphore.server.buffering import (
    MESSAGES,
    RequestBuffer,
    RequestLimits,
    RequestRefused,
    error_response,
)

READ_SIZE = 64 * 1024
# Every request being read in one worker process holds at most this much in memory together;
# past it, new bytes are refused with 503 rather than risk the process's memory.
BUFFER_BUDGET = 256 * 1024 * 1024
# How long a refused client may read our answer before the connection is closed.
LINGER_SECONDS = 2.0

_current = threading.local()


class _Reading:
    """A connection whose request is still arriving."""

    def __init__(self, limits: RequestLimits, now: float) -> None:
        self.buffer = RequestBuffer(limits)
        self.started = now
        self.head_done_at: float | None = None
        self.continued = False
        self.counted = 0  # bytes of it in the worker's BUFFER_BUDGET
        self.registered = False  # with the worker's selector

    def deadline(self) -> float:
        return self.buffer.deadline(self.started, self.head_done_at)


class _Capture:
    """Stands in for a client socket to catch the error page gunicorn writes."""

    def __init__(self) -> None:
        self.data = BytesIO()

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, flag: bool) -> None:
        pass

    def sendall(self, data: bytes) -> None:
        self.data.write(data)


class BufferedThreadWorker(gthread.ThreadWorker):
    """gthread, reading each request's head and body in the main loop before a thread runs it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits: RequestLimits = getattr(self.app, "request_limits", RequestLimits())
        self.reading: dict[Any, _Reading] = {}
        self.lingering: dict[Any, float] = {}
        self.buffered_bytes = 0
        # TLS and HTTP/2 read their first bytes in the thread (handshake, preface): they keep
        # gunicorn's own path.
        self.buffering = not self.cfg.is_ssl and self.cfg.http2_cleartext == "off"

    # --- the main loop ---------------------------------------------------------------------

    def enqueue_req(self, conn: gthread.TConn) -> None:
        """A connection with (the start of) a request: read it here, unless already read."""
        if not self.buffering or getattr(conn, "semaphore_ready", False):
            conn.semaphore_ready = False
            super().enqueue_req(conn)
            return
        # Bytes gunicorn read ahead on a kept-alive connection: the next request's start.
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        conn.sock.setblocking(False)
        state = _Reading(self.limits, time.monotonic())
        self.reading[conn] = state
        if leftover:
            self._feed(conn, state, leftover)
        if conn in self.reading:
            # A kept-alive connection comes here because it is readable, and a new one often
            # has its request already: read at once rather than after one more select().
            self._on_readable(conn, None)
        if conn in self.reading and not state.registered:
            state.registered = True
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: gthread.TConn, _sock: Any) -> None:
        state = self.reading[conn]
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self._feed(conn, state, data)
        else:  # the client left
            self._forget(conn, state)
            self._close(conn)

    def _feed(self, conn: gthread.TConn, state: _Reading, data: bytes) -> None:
        try:
            if self.buffered_bytes + len(data) > BUFFER_BUDGET:
                raise RequestRefused(503)
            complete = state.buffer.feed(data)
        except RequestRefused as refused:
            self._forget(conn, state)
            self._refuse(conn, state, refused)
            return
        self.buffered_bytes += len(state.buffer.data) - state.counted
        state.counted = len(state.buffer.data)
        if state.buffer.head_complete and state.head_done_at is None:
            state.head_done_at = time.monotonic()
        if complete:
            self._forget(conn, state)
            self._dispatch(conn, state)
        elif state.buffer.expects_continue and not state.continued:
            # The client waits for this before it sends the body (curl does for big ones).
            state.continued = True
            self._send(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")

    def _dispatch(self, conn: gthread.TConn, state: _Reading) -> None:
        """The whole request is here: a thread parses it from memory and runs the app."""
        conn.semaphore_request = bytes(state.buffer.data)
        conn.semaphore_api = state.buffer.is_api()
        # gunicorn would answer "100 Continue" again once it parses the Expect header.
        conn.semaphore_continued = state.continued or state.buffer.expects_continue
        conn.semaphore_ready = True
        conn.data_ready = True
        self.enqueue_req(conn)

    def _forget(self, conn: gthread.TConn, state: _Reading) -> None:
        """Stop reading the connection's request (it is complete, refused or abandoned)."""
        if self.reading.pop(conn, None) is None:
            return
        self.buffered_bytes -= state.counted
        state.counted = 0
        if state.registered:
            state.registered = False
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass

    def _refuse(self, conn: gthread.TConn, state: _Reading, refused: RequestRefused) -> None:
        api = state.buffer.is_api()
        # A slow client is common and harmless now; the others are worth a warning.
        level = self.log.info if refused.status == 408 else self.log.warning
        level("Refused a request from %s: %s %s", _peer(conn), refused.status, refused.message)
        self._send(conn.sock, error_response(refused.status, refused.message, api))
        self._linger(conn)

    def _send(self, sock: socket.socket, data: bytes) -> None:
        # A short answer to a fresh socket fits its send buffer; what does not is dropped.
        try:
            sock.send(data)
        except OSError:
            pass

    def _linger(self, conn: gthread.TConn) -> None:
        """Half-close and read what the client still sends, so that the kernel does not
        answer it with a reset that would destroy our answer before the client reads it."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)
            return
        self.lingering[conn] = time.monotonic() + LINGER_SECONDS
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_lingering, conn))

    def _on_lingering(self, conn: gthread.TConn, _sock: Any) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._stop_lingering(conn)

    def _stop_lingering(self, conn: gthread.TConn) -> None:
        self.lingering.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self._close(conn)

    def _close(self, conn: gthread.TConn) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Also time out requests that are not complete in time, and lingering answers."""
        super().murder_pending()
        now = time.monotonic()
        for conn, state in list(self.reading.items()):
            idle_at_stop = not self.alive and not state.buffer.received_anything
            if now < state.deadline() and not idle_at_stop:
                continue
            self._forget(conn, state)
            if state.buffer.received_anything:
                self._refuse(conn, state, RequestRefused(408))
            else:
                self._close(conn)
        for conn, until in list(self.lingering.items()):
            if now >= until:
                self._stop_lingering(conn)

    # --- in a thread -----------------------------------------------------------------------

    def handle(self, conn: gthread.TConn) -> Any:
        data = getattr(conn, "semaphore_request", None)
        _current.api = getattr(conn, "semaphore_api", False)
        if data is not None:
            conn.semaphore_request = None
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(data)
        return super().handle(conn)

    def handle_request(self, req: Any, conn: gthread.TConn) -> bool:
        if getattr(conn, "semaphore_continued", False):
            req._expected_100_continue = False
            conn.semaphore_continued = False
        return super().handle_request(req, conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """gunicorn's answer for a request it cannot parse, as JSON under /api."""
        capture = _Capture()
        super().handle_error(req, capture, addr, exc)
        status = _status_of(capture.data.getvalue())
        if status is None:
            return
        message = MESSAGES.get(status) or HTTPStatus(status).phrase
        if status == 400:
            message = f"Bad request: {_short(exc)}"
        try:
            gthread.util.write_nonblock(
                client, error_response(status, message, getattr(_current, "api", False))
            )
        except OSError as error:
            if error.errno not in (errno.EPIPE, errno.ECONNRESET):
                self.log.debug("Failed to send error message.")


def _status_of(answer: bytes) -> int | None:
    parts = answer.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    return int(parts[1])


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _peer(conn: gthread.TConn) -> str:
    client = conn.client
    return client[0] if isinstance(client, tuple) else str(client or "")
