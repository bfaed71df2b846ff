"""TOTP second factor: enrolment, codes accepted once, recovery codes, and an admin's reset.

Works with any RFC 6238 app (Google Authenticator, Authy, Microsoft Authenticator): SHA-1,
six digits, 30-second steps, and one step of clock drift either way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, select, update

from semaphore.config import current_config
from semaphore.errors import Conflict, NotAuthenticated, NotFound, ValidationError
from semaphore.extensions import db
from semaphore.models import RecoveryCode, User, UserTotp, utcnow
from semaphore.security.crypto import seal, unseal
from semaphore.services import audit
from semaphore.services.users import require_admin

ISSUER = "Semaphore"
RECOVERY_CODE_COUNT = 10
# Unambiguous characters (no 0/o, 1/l/i) so a code read off paper types back right.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
BAD_CODE = "Invalid or already used code"


@dataclass(frozen=True)
class Enrolment:
    """A pending authenticator: the secret to type in, and the otpauth:// URL the QR holds."""

    totp: UserTotp
    secret: str
    url: str


def _key() -> bytes:
    return current_config().secret_bytes("access_key_encryption")


def _totp_row(user: User) -> UserTotp | None:
    return db.session.scalar(select(UserTotp).where(UserTotp.user_id == user.id))


def is_enabled(user: User) -> bool:
    """Whether a password login of this user needs a second factor."""
    row = _totp_row(user)
    return row is not None and row.confirmed


def status(user: User) -> dict:
    """The user's second-factor state, for the API and the account page."""
    row = _totp_row(user)
    left = db.session.scalar(
        select(db.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used.is_(None))
    )
    return {
        "totp": row is not None and row.confirmed,
        "pending": row is not None and not row.confirmed,
        "recovery_codes_left": int(left or 0),
    }


def begin_enrolment(user: User) -> Enrolment:
    """A new pending authenticator (replacing an unfinished one).

    Raises:
        Conflict: TOTP is already on; it must be turned off first.
    """
    row = _totp_row(user)
    if row is not None and row.confirmed:
        raise Conflict("Two-factor authentication is already enabled")
    secret = pyotp.random_base32()
    if row is None:
        row = UserTotp(user_id=user.id, secret="")
        db.session.add(row)
    row.secret = seal(secret, _key())
    row.created = utcnow()
    row.last_step = 0
    db.session.commit()
    return Enrolment(row, secret, _provisioning_url(user, secret))


def pending_enrolment(user: User) -> Enrolment:
    """The unfinished enrolment, to show its QR code again.

    Raises:
        NotFound: there is no enrolment waiting for its first code.
    """
    row = _totp_row(user)
    if row is None or row.confirmed:
        raise NotFound("No two-factor enrolment is pending")
    secret = unseal(row.secret, _key())
    return Enrolment(row, secret, _provisioning_url(user, secret))


def _provisioning_url(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(url: str) -> str:
    """The otpauth:// URL as an SVG QR code (no script, no external reference)."""
    return segno.make(url, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff")


def confirm_enrolment(user: User, passcode: object) -> list[str]:
    """Turn TOTP on with a first code from the app; returns the recovery codes, shown once.

    Raises:
        NotFound: nothing is pending.
        NotAuthenticated: the code does not match the pending secret.
    """
    row = _totp_row(user)
    if row is None or row.confirmed:
        raise NotFound("No two-factor enrolment is pending")
    if not _accept_code(row, _code(passcode, "passcode")):
        raise NotAuthenticated(BAD_CODE)
    row.confirmed = True
    codes = _replace_recovery_codes(user)
    audit.record("2fa_enabled", user, target=user)
    db.session.commit()
    return codes


def check_passcode(user: User, passcode: object) -> bool:
    """Whether a TOTP code of the user's authenticator is good now; each is accepted once."""
    row = _totp_row(user)
    if row is None or not row.confirmed:
        return False
    accepted = _accept_code(row, _code(passcode, "passcode"))
    db.session.commit()
    return accepted


def use_recovery_code(user: User, recovery_code: object) -> bool:
    """Spend one recovery code; True when it was valid and unused."""
    code = _normalise_recovery(_code(recovery_code, "recovery_code"))
    row = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_digest(code),
            RecoveryCode.used.is_(None),
        )
    )
    if row is None:
        return False
    # Conditional update: two requests racing with one code cannot both spend it.
    spent = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used.is_(None))
        .values(used=utcnow())
    )
    db.session.commit()
    return spent.rowcount == 1


def regenerate_recovery_codes(user: User, passcode: object) -> list[str]:
    """New recovery codes (the old ones stop working), after a fresh TOTP code.

    Raises:
        NotFound: TOTP is off.
        NotAuthenticated: the code is wrong or already used.
    """
    if not is_enabled(user):
        raise NotFound("Two-factor authentication is not enabled")
    if not check_passcode(user, passcode):
        raise NotAuthenticated(BAD_CODE)
    codes = _replace_recovery_codes(user)
    db.session.commit()
    return codes


def disable(user: User, passcode: object) -> None:
    """Turn TOTP off; the user proves it with a TOTP code or a recovery code.

    Raises:
        NotFound: TOTP is off.
        NotAuthenticated: neither a good TOTP code nor an unused recovery code.
    """
    if _totp_row(user) is None:
        raise NotFound("Two-factor authentication is not enabled")
    proof = _code(passcode, "passcode")
    enabled = is_enabled(user)
    if enabled and not (check_passcode(user, proof) or use_recovery_code(user, proof)):
        raise NotAuthenticated(BAD_CODE)
    if enabled:  # dropping an enrolment never confirmed turns nothing off
        audit.record("2fa_disabled", user, target=user)
    _remove(user)


def reset(actor: User, user_id: int) -> None:
    """An admin turns off another user's TOTP (a lost phone).

    Raises:
        PermissionDenied: the actor is not an admin.
        NotFound: no such user.
    """
    require_admin(actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    audit.record("2fa_reset", actor, target=user)
    _remove(user)


def _remove(user: User) -> None:
    db.session.execute(delete(UserTotp).where(UserTotp.user_id == user.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()


def _code(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} is required", field)
    return value.strip()


def _accept_code(row: UserTotp, code: str) -> bool:
    """Whether the code matches a step near now that is later than the last one accepted."""
    code = code.replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(unseal(row.secret, _key()))
    now = totp.timecode(datetime.now())
    for step in (now - 1, now, now + 1):
        if step > row.last_step and hmac.compare_digest(totp.generate_otp(step), code):
            # Conditional update, so a code replayed on another process at the same moment
            # still loses.
            moved = db.session.execute(
                update(UserTotp)
                .where(UserTotp.id == row.id, UserTotp.last_step < step)
                .values(last_step=step)
            )
            return moved.rowcount == 1
    return False


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_recovery_digest(code)) for code in codes
    )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _normalise_recovery(code: str) -> str:
    return code.lower().replace("-", "").replace(" ", "")


def _recovery_digest(code: str) -> str:
    # Keyed, so a stolen database alone is not enough to brute-force the codes offline.
    return hmac.new(_key(), code.encode("utf-8"), hashlib.sha256).hexdigest()
