"""Projects and their members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base, utcnow

ROLES = ("owner", "manager", "task_runner", "guest")


class Project(Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    name: Mapped[str] = mapped_column(String(255))
    alert: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_chat: Mapped[str | None] = mapped_column(String(30))
    max_parallel_tasks: Mapped[int] = mapped_column(Integer, default=0)
    # Ours: finished tasks older than this many days are deleted (None: the global setting).
    task_retention_days: Mapped[int | None] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32), default="")


class ProjectUser(Base):
    __tablename__ = "project__user"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(32))
