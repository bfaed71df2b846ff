"""People and how they prove who they are: users, API tokens, login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base, utcnow


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    # bcrypt hash; empty for external (LDAP/OIDC) users, who cannot log in with a password.
    password: Mapped[str] = mapped_column(String(255), default="")
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    alert: Mapped[bool] = mapped_column(Boolean, default=False)

    # Flask-Login's protocol, spelled out so the model carries no Flask import.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class APIToken(Base):
    """A bearer token. Only its SHA-256 is stored; `id` is a short public handle for lists."""

    __tablename__ = "user__token"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expired: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    # None: valid until expired by hand (as in the original).
    expires: Mapped[datetime | None] = mapped_column(default=None)


def past_expiry(expires: datetime | None) -> bool:
    """Whether a token's expiry time has passed (None: it lasts until expired by hand)."""
    return expires is not None and expires <= utcnow()


class UserTotp(Base):
    """A user's TOTP authenticator; the shared secret is sealed with access_key_encryption.

    Enrolment stays pending until a first code proves the authenticator holds the secret.
    """

    __tablename__ = "user__totp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    secret: Mapped[str] = mapped_column(String(255))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The 30-second step of the last accepted code: a code is accepted once, never replayed.
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)


class RecoveryCode(Base):
    """A single-use stand-in for a TOTP code; only its keyed digest is stored."""

    __tablename__ = "user__recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used: Mapped[datetime | None] = mapped_column(default=None)


class Session(Base):
    """A browser login; the signed cookie names it, so it can be expired server-side."""

    __tablename__ = "session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_active: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    expired: Mapped[bool] = mapped_column(Boolean, default=False)
    # False while a password login waits for its second factor; such a session opens nothing.
    verified: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
