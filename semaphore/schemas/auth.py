"""Signing in, the second factor and sessions: what a request gives and what the API shows.

The login services read these bodies' fields themselves (a wrong type is a failed login, not a
validation error), so the input models here document the bodies. A TOTP secret is shown only
in the answer that starts an enrolment; recovery codes only in the answers that make them.
"""

from __future__ import annotations

from typing import Any

from semaphore.schemas.base import InputModel, OutputModel, Timestamp, list_of


class LoginIn(InputModel):
    """POST /api/auth/login: a username or e-mail, and the password."""

    auth: str
    password: str


class PasscodeIn(InputModel):
    """A six-digit code from the authenticator app."""

    passcode: str


class OptionalPasscodeIn(InputModel):
    """Turning TOTP off: a code from the app, or one of the recovery codes."""

    passcode: str | None = None


class RecoveryCodeIn(InputModel):
    """The second step of a login with a single-use recovery code instead of a passcode."""

    recovery_code: str


class OidcProviderOut(OutputModel):
    id: str
    name: str
    color: str
    icon: str


class LoginMetadataOut(OutputModel):
    """GET /api/auth/login: what the login page offers."""

    oidc_providers: list[OidcProviderOut]
    login_with_password: bool


class TwoFactorOut(OutputModel):
    """GET /api/user/2fa."""

    totp: bool
    pending: bool
    recovery_codes_left: int


class TotpEnrolmentOut(OutputModel):
    """The secret to type into the app, and the otpauth:// URL its QR code holds."""

    secret: str
    url: str


class RecoveryCodesOut(OutputModel):
    """New recovery codes, shown once."""

    recovery_codes: list[str]


class SessionOut(OutputModel):
    """A browser session of the signed-in user; `current` is the one asking."""

    id: int
    created: Timestamp
    last_active: Timestamp
    ip: str
    user_agent: str
    current: bool

    @classmethod
    def of(cls, session: Any, current: bool) -> dict[str, Any]:
        """The session as the API shows it."""
        shown = cls.model_validate(
            {
                "id": session.id,
                "created": session.created,
                "last_active": session.last_active,
                "ip": session.ip,
                "user_agent": session.user_agent,
                "current": current,
            }
        )
        return shown.model_dump(mode="json")


SessionList = list_of(SessionOut)


class SessionsEnded(OutputModel):
    """DELETE /api/user/sessions: how many other sessions were signed out."""

    ended: int
