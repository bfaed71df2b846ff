"""Access keys: SSH keys, logins with passwords, and the secret strings environments keep."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base

KEY_TYPES = ("none", "ssh", "login_password", "string")


class AccessKey(Base):
    __tablename__ = "access_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    # The secret JSON (or string), sealed with AES-GCM; never plaintext, never in API output.
    secret: Mapped[str | None] = mapped_column(Text)
    # Set for the `string` keys that hold an environment's secrets.
    environment_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__environment.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
