"""GET /api/ws: live task updates and output over a WebSocket (semaphore/live/stream.py).

Everything is checked before the upgrade, so a refused client gets an HTTP error and never a
socket: 401 (not signed in), 403 (a browser page of another origin: cross-site WebSocket
hijacking, as writes are refused in security/csrf.py), 400 or 404 (the query), 429 (too many
sockets for the user or the address) or 503 (this web process is full; live/limits.py).
"""

from __future__ import annotations

from flask import g, request
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.errors import PermissionDenied
from semaphore.identity import client_ip
from semaphore.live.limits import limits
from semaphore.live.stream import Socket, plan_stream
from semaphore.security import csrf
from semaphore.web_extensions import sock


@api_blueprint.before_request
def _plan_live_socket() -> None:
    # Runs after the blueprint's login check, which is registered first.
    if request.endpoint == "api.live_socket":
        if csrf.from_another_origin():
            raise PermissionDenied("Cross-site request refused")
        user = current_user._get_current_object()
        g.live_stream = plan_stream(request.args, user)
        g.live_lease = limits().acquire(user.id, client_ip())


@api_blueprint.teardown_request
def _release_live_socket(exc: BaseException | None) -> None:
    # The request lasts as long as its socket: this runs once the socket has closed (or the
    # upgrade failed).
    lease = g.pop("live_lease", None)
    if lease is not None:
        lease.release()


@sock.route("/ws", bp=api_blueprint)
def live_socket(ws: Socket) -> None:
    g.live_stream(ws).run()
