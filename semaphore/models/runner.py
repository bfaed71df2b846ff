"""Remote runners and global options."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base, JsonText


class Runner(Base):
    __tablename__ = "runner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), default="")
    # SHA-256 of the runner's token; the token itself is shown once, at creation.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    registration_token_hash: Mapped[str | None] = mapped_column(String(64))
    webhook: Mapped[str] = mapped_column(String(1024), default="")
    max_parallel_tasks: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # The runner's tags, a JSON array of strings.
    tags: Mapped[list | None] = mapped_column(JsonText)
    touched: Mapped[datetime | None]
    cleaning_requested: Mapped[datetime | None]

    @property
    def registered(self) -> bool:
        """Whether the runner has its token (an admin created it so, or it registered)."""
        return self.token_hash is not None


class Option(Base):
    """A dotted config path and its value (`apps.ansible.active`), or a per-user option."""

    __tablename__ = "option"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000), default="")
