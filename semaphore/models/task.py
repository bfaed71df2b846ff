"""Tasks (one run of a template) and their output lines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from semaphore.models.base import Base, JsonText, utcnow

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
    "rejected",
)
# A rejected task is a Terraform plan refused at its confirmation (the original's later status).
FINISHED_STATUSES = ("stopped", "success", "error", "rejected")
# How far up a chain of deploys of deploys a version is looked for (a cycle ends here too).
MAX_BUILD_CHAIN = 20


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
    # The extra variables the run received (JSON): the template's environments merged, then
    # the task's own values over them. Written when the run starts; secrets are never in it.
    run_variables: Mapped[str | None] = mapped_column(Text)
    # Secret extra variables for this run only, sealed like access keys and erased at the end.
    secret: Mapped[str | None] = mapped_column(Text)
    arguments: Mapped[str | None] = mapped_column(Text)
    git_branch: Mapped[str | None] = mapped_column(String(255))
    limit: Mapped[str] = mapped_column("hosts_limit", Text, default="")
    params: Mapped[dict | None] = mapped_column(JsonText)
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
    # The remote runner the task was handed to (None: a worker runs it). Deleting the runner
    # leaves the task without one.
    runner_id: Mapped[int | None] = mapped_column(
        ForeignKey("runner.id", ondelete="SET NULL"), index=True
    )
    created: Mapped[datetime] = mapped_column(default=utcnow)
    start: Mapped[datetime | None]
    end: Mapped[datetime | None]
    message: Mapped[str] = mapped_column(String(250), default="")
    commit_hash: Mapped[str | None] = mapped_column(String(64))
    commit_message: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str | None] = mapped_column(String(20))


class TaskOutputChunk(Base):
    """A batch of consecutive output lines of one task, stored as one row.

    The original stores one row per line, which is what makes its big logs slow. Here a row
    holds up to a few thousand lines: `output` is the lines joined by "\n", `first_seq` the
    number of the first (lines of a task are numbered from 1), and `times` each line's time as
    microseconds after `started`, comma-separated, where "N*K" stands for K lines of the same
    time (the lines of one read share it): see `line_offsets`.
    """

    __tablename__ = "task__output_chunk"
    __table_args__ = (
        Index("ix_task__output_chunk_task_id_first_seq", "task_id", "first_seq", unique=True),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    first_seq: Mapped[int] = mapped_column(Integer)
    line_count: Mapped[int] = mapped_column(Integer)
    started: Mapped[datetime] = mapped_column(default=utcnow)
    times: Mapped[str] = mapped_column(Text, default="")
    output: Mapped[str] = mapped_column(Text, default="")


def line_offsets(times: str, count: int) -> list[int]:
    """Each line's time in a chunk, as microseconds after its start (TaskOutputChunk.times);
    lines past what `times` covers (or all, when it is empty) read as its start."""
    offsets: list[int] = []
    for token in times.split(",") if times else ():
        offset, _, repeat = token.partition("*")
        if repeat:
            offsets.extend([int(offset)] * int(repeat))
        else:
            offsets.append(int(offset))
    if len(offsets) < count:
        offsets.extend([0] * (count - len(offsets)))
    return offsets


def times_token(offset: int, count: int) -> str:
    """`count` lines at `offset` microseconds, as TaskOutputChunk.times writes them."""
    return f"{offset}*{count}" if count > 1 else str(offset)


def incoming_version(session: Session, task: Task) -> str | None:
    """The version a deploy task deploys: that of the build task up its build chain (the
    original's IncomingVersion), None when there is none."""
    from semaphore.models.template import Template

    current = task
    for _ in range(MAX_BUILD_CHAIN):
        if current.build_task_id is None:
            return None
        build = session.get(Task, current.build_task_id)
        if build is None:
            return None
        build_template = session.get(Template, build.template_id)
        if build_template is not None and build_template.type == "build":
            return build.version
        current = build
    return None
