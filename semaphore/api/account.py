"""The signed-in user's own security: TOTP (/api/user/2fa…), sessions (/api/user/sessions…),
and an admin's reset of another user's TOTP (/api/users/{id}/2fa). Not in the contract."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.request_body import json_body, json_object
from semaphore.identity import current_session_id
from semaphore.schemas.auth import (
    OptionalPasscodeIn,
    PasscodeIn,
    RecoveryCodesOut,
    SessionList,
    SessionOut,
    SessionsEnded,
    TotpEnrolmentOut,
    TwoFactorOut,
)
from semaphore.services import users
from semaphore.services.auth import login as auth
from semaphore.services.auth import two_factor

TAGS = ("user",)


@api_blueprint.get("/user/2fa")
@documented(answers={200: TwoFactorOut}, tags=TAGS, addition=True)
def two_factor_status() -> Response:
    return jsonify(TwoFactorOut.dump(two_factor.status(current_user)))


@api_blueprint.post("/user/2fa/totp")
@documented(answers={201: TotpEnrolmentOut}, tags=TAGS, addition=True)
def begin_totp() -> tuple[Response, int]:
    # The one answer that holds the secret: the user types it into their app.
    enrolment = two_factor.begin_enrolment(current_user)
    return jsonify(TotpEnrolmentOut.dump(enrolment)), 201


@api_blueprint.get("/user/2fa/totp/qr")
@documented(answers={200: None}, tags=TAGS, addition=True)
def totp_qr() -> Response:
    svg = two_factor.qr_svg(two_factor.pending_enrolment(current_user).url)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


@api_blueprint.post("/user/2fa/totp/confirm")
@documented(body=PasscodeIn, answers={200: RecoveryCodesOut}, tags=TAGS, addition=True)
def confirm_totp() -> Response:
    codes = two_factor.confirm_enrolment(current_user, json_object().get("passcode"))
    return jsonify(RecoveryCodesOut.dump({"recovery_codes": codes}))


@api_blueprint.delete("/user/2fa/totp")
@documented(body=OptionalPasscodeIn, answers={204: None}, tags=TAGS, addition=True)
def disable_totp() -> tuple[str, int]:
    body = json_body(required=False)
    two_factor.disable(current_user, body.get("passcode") if isinstance(body, dict) else None)
    return "", 204


@api_blueprint.post("/user/2fa/recovery_codes")
@documented(body=PasscodeIn, answers={201: RecoveryCodesOut}, tags=TAGS, addition=True)
def new_recovery_codes() -> tuple[Response, int]:
    codes = two_factor.regenerate_recovery_codes(current_user, json_object().get("passcode"))
    return jsonify(RecoveryCodesOut.dump({"recovery_codes": codes})), 201


@api_blueprint.delete("/users/<int:user_id>/2fa")
@documented(answers={204: None}, tags=TAGS, addition=True)
def reset_two_factor(user_id: int) -> tuple[str, int]:
    two_factor.reset(current_user, user_id)
    return "", 204


@api_blueprint.get("/user/sessions")
@documented(answers={200: SessionList}, tags=TAGS, addition=True)
def list_sessions() -> Response:
    current = current_session_id()
    rows = auth.list_sessions(current_user)
    return jsonify([SessionOut.of(row, row.id == current) for row in rows])


@api_blueprint.delete("/user/sessions/<int:session_id>")
@documented(answers={204: None}, tags=TAGS, addition=True)
def revoke_session(session_id: int) -> tuple[str, int]:
    auth.revoke_session(current_user, session_id)
    return "", 204


@api_blueprint.delete("/user/sessions")
@documented(answers={200: SessionsEnded}, tags=TAGS, addition=True)
def revoke_other_sessions() -> Response:
    """Log out everywhere else (every session but the caller's own)."""
    ended = users.end_sessions(current_user.id, keep_session_id=current_session_id())
    return jsonify(SessionsEnded.dump({"ended": ended}))
