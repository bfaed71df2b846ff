"""Git repositories that templates take their playbooks and scripts from."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base


class Repository(Base):
    __tablename__ = "project__repository"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    git_url: Mapped[str] = mapped_column(Text)
    git_branch: Mapped[str] = mapped_column(String(255), default="")
    ssh_key_id: Mapped[int] = mapped_column(ForeignKey("access_key.id"), index=True)
