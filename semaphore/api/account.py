"""The signed-in user's own security: TOTP (/api/user/2fa…), sessions (/api/user/sessions…),
and an admin's reset of another user's TOTP (/api/users/{id}/2fa). Not in the contract."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.request_body import json_body, json_object
from semaphore.identity import current_session_id
from semaphore.models import Session, isoformat
from semaphore.services import users
from semaphore.services.auth import login as auth
from semaphore.services.auth import two_factor


@api_blueprint.get("/user/2fa")
def two_factor_status() -> Response:
    return jsonify(two_factor.status(current_user))


@api_blueprint.post("/user/2fa/totp")
def begin_totp() -> tuple[Response, int]:
    enrolment = two_factor.begin_enrolment(current_user)
    return jsonify({"secret": enrolment.secret, "url": enrolment.url}), 201


@api_blueprint.get("/user/2fa/totp/qr")
def totp_qr() -> Response:
    svg = two_factor.qr_svg(two_factor.pending_enrolment(current_user).url)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@api_blueprint.post("/user/2fa/totp/confirm")
def confirm_totp() -> Response:
    codes = two_factor.confirm_enrolment(current_user, json_object().get("passcode"))
    return jsonify({"recovery_codes": codes})


@api_blueprint.delete("/user/2fa/totp")
def disable_totp() -> tuple[str, int]:
    body = json_body(required=False)
    two_factor.disable(current_user, body.get("passcode") if isinstance(body, dict) else None)
    return "", 204


@api_blueprint.post("/user/2fa/recovery_codes")
def new_recovery_codes() -> tuple[Response, int]:
    codes = two_factor.regenerate_recovery_codes(current_user, json_object().get("passcode"))
    return jsonify({"recovery_codes": codes}), 201


@api_blueprint.delete("/users/<int:user_id>/2fa")
def reset_two_factor(user_id: int) -> tuple[str, int]:
    two_factor.reset(current_user, user_id)
    return "", 204


def _session(row: Session) -> dict:
    return {
        "id": row.id,
        "created": isoformat(row.created),
        "last_active": isoformat(row.last_active),
        "ip": row.ip,
        "user_agent": row.user_agent,
        "current": row.id == current_session_id(),
    }


@api_blueprint.get("/user/sessions")
def list_sessions() -> Response:
    return jsonify([_session(row) for row in auth.list_sessions(current_user)])


@api_blueprint.delete("/user/sessions/<int:session_id>")
def revoke_session(session_id: int) -> tuple[str, int]:
    auth.revoke_session(current_user, session_id)
    return "", 204


@api_blueprint.delete("/user/sessions")
def revoke_other_sessions() -> Response:
    """Log out everywhere else (every session but the caller's own)."""
    ended = users.end_sessions(current_user.id, keep_session_id=current_session_id())
    return jsonify({"ended": ended})
