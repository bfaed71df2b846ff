"""GET /api/ws: live task updates and output over a WebSocket (semaphore/live/stream.py).

The query is checked before the upgrade, so a refused client gets an HTTP error (401, 400,
404) and never a socket.
"""

from __future__ import annotations

from flask import g, request
from flask_login import current_user

from semaphore.api import api_blueprint
from semaphore.extensions import sock
from semaphore.live.stream import Socket, plan_stream


@api_blueprint.before_request
def _plan_live_socket() -> None:
    # Runs after the blueprint's login check, which is registered first.
    if request.endpoint == "api.live_socket":
        g.live_stream = plan_stream(request.args, current_user._get_current_object())


@sock.route("/ws", bp=api_blueprint)
def live_socket(ws: Socket) -> None:
    g.live_stream(ws).run()
