"""The audit trail (ours): who signed in or failed to, and who changed tokens, second factors,
passwords, the admin flag, project roles and runners; from where and when.

Apart from the activity log (models/event.py), which records project objects' changes for
their members: this one is for administrators, and it outlives the users and projects it names
(`actor_login` and `target_name` keep their names as text).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base, JsonText, utcnow

# What an audit event can be; services/audit.py names each one where it happens.
AUDIT_KINDS = (
    "login",
    "login_failed",
    "logout",
    "token_created",
    "token_revoked",
    "2fa_enabled",
    "2fa_disabled",
    "2fa_reset",
    "password_changed",
    "admin_granted",
    "admin_revoked",
    "member_added",
    "member_role_changed",
    "member_removed",
    "runner_registered",
)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The actor's username then; for a failed sign-in, the login that was tried.
    actor_login: Mapped[str] = mapped_column(String(255), default="", index=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer)
    target_name: Mapped[str | None] = mapped_column(String(255))
    # No foreign key: the trail keeps a removed project's events.
    project_id: Mapped[int | None] = mapped_column(Integer)
    # A small object of facts (a method, a role, a token's handle): never a secret.
    details: Mapped[dict | None] = mapped_column(JsonText)
