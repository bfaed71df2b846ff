"""Environments: extra variables and environment variables for runs (secrets live in keys)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base


class Environment(Base):
    __tablename__ = "project__environment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    password: Mapped[str | None] = mapped_column(String(255))
    json: Mapped[str] = mapped_column(Text, default="{}")
    env: Mapped[str | None] = mapped_column(Text)
