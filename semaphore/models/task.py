"""Tasks (one run of a template) and their output lines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base, utcnow

TASK_STATUSES = (
    "waiting",
    "starting",
    "waiting_confirmation",
    "confirmed",
    "running",
    "stopping",
    "stopped",
    "success",
    "error",
)
FINISHED_STATUSES = ("stopped", "success", "error")


class Task(Base):
    __tablename__ = "task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("project__template.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(32), default="waiting", index=True)
    debug: Mapped[bool] = mapped_column(Boolean, default=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    diff: Mapped[bool] = mapped_column(Boolean, default=False)
    playbook: Mapped[str] = mapped_column(String(1024), default="")
    environment: Mapped[str] = mapped_column(Text, default="")
    # Secret extra variables for this run only, sealed like access keys and erased at the end.
    secret: Mapped[str | None] = mapped_column(Text)
    arguments: Mapped[str | None] = mapped_column(Text)
    git_branch: Mapped[str | None] = mapped_column(String(255))
    limit: Mapped[str] = mapped_column("hosts_limit", Text, default="")
    params: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__integration.id", ondelete="SET NULL")
    )
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__schedule.id", ondelete="SET NULL")
    )
    inventory_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__inventory.id", ondelete="SET NULL")
    )
    build_task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id", ondelete="SET NULL"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    start: Mapped[datetime | None]
    end: Mapped[datetime | None]
    message: Mapped[str] = mapped_column(String(250), default="")
    commit_hash: Mapped[str | None] = mapped_column(String(64))
    commit_message: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str | None] = mapped_column(String(20))


class TaskOutput(Base):
    """One line of a task's output; `seq` numbers the lines of one task from 1."""

    __tablename__ = "task__output"
    __table_args__ = (Index("ix_task__output_task_id_seq", "task_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(default=utcnow)
    output: Mapped[str] = mapped_column(Text, default="")
