"""Schedules: a cron expression (or a one-off time) that starts a template."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base, JsonText


class Schedule(Base):
    __tablename__ = "project__schedule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[int] = mapped_column(
        ForeignKey("project__template.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), default="")
    cron_format: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    repository_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__repository.id", ondelete="SET NULL")
    )
    last_commit_hash: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16), default="")
    run_at: Mapped[datetime | None]
    task_params: Mapped[dict | None] = mapped_column(JsonText)
