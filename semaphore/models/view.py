"""Views: named tabs that group a project's templates."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base


class View(Base):
    __tablename__ = "project__view"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    type: Mapped[str] = mapped_column(String(16), default="")
    sort_column: Mapped[str | None] = mapped_column(String(32))
    sort_reverse: Mapped[bool] = mapped_column(Boolean, default=False)
