"""Templates (what to run, with what), their environments and their vault passwords."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base, JsonText

APPS = ("ansible", "terraform", "tofu", "terragrunt", "bash", "powershell", "python", "pulumi")
TEMPLATE_TYPES = ("", "build", "deploy")


class Template(Base):
    __tablename__ = "project__template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    app: Mapped[str] = mapped_column(String(32), default="ansible")
    playbook: Mapped[str] = mapped_column(String(1024), default="")
    inventory_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__inventory.id"), index=True
    )
    repository_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__repository.id"), index=True
    )
    environment_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__environment.id"), index=True
    )
    view_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__view.id", ondelete="SET NULL"), index=True
    )
    build_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__template.id", ondelete="SET NULL"), index=True
    )
    # A JSON array of strings, kept as text as the original does.
    arguments: Mapped[str | None] = mapped_column(Text)
    allow_override_args_in_task: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_override_branch_in_task: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="")
    start_version: Mapped[str | None] = mapped_column(String(20))
    autorun: Mapped[bool] = mapped_column(Boolean, default=False)
    git_branch: Mapped[str | None] = mapped_column(String(255))
    # JSON: [{name, title, description, type, required, values: [{name, value}]}]
    survey_vars: Mapped[list | None] = mapped_column(JsonText)
    suppress_success_alerts: Mapped[bool] = mapped_column(Boolean, default=False)
    # JSON: the default task parameters (TaskPrams in the contract).
    task_params: Mapped[dict | None] = mapped_column(JsonText)
    # The tag a remote runner must carry to run this template's tasks (None: any runner when
    # use_remote_runner is on, else a worker). The original's `runner_tag`.
    runner_tag: Mapped[str | None] = mapped_column(String(64))
    # Ours (AWX's job template timeout): a run longer than this many seconds is stopped and
    # ends `error` (None or 0: only the global max_task_duration_sec applies).
    max_task_duration_sec: Mapped[int | None] = mapped_column(Integer)
    # How many tasks this template has run (read-only in the API).
    tasks: Mapped[int] = mapped_column(Integer, default=0)


class TemplateVault(Base):
    __tablename__ = "project__template_vault"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[int] = mapped_column(
        ForeignKey("project__template.id", ondelete="CASCADE"), index=True
    )
    vault_key_id: Mapped[int | None] = mapped_column(ForeignKey("access_key.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="password")
    script: Mapped[str | None] = mapped_column(String(1024))


class TemplateEnvironment(Base):
    """One of a template's environments (2.16's `environment_ids`), in the order they apply.

    At run time their variables are merged, a later environment overriding an earlier one;
    `Template.environment_id` keeps the first, for clients that know only that field.
    """

    __tablename__ = "project__template_environment"

    template_id: Mapped[int] = mapped_column(
        ForeignKey("project__template.id", ondelete="CASCADE"), primary_key=True
    )
    environment_id: Mapped[int] = mapped_column(
        ForeignKey("project__environment.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
