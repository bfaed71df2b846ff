"""Integrations: incoming webhooks with their matchers, extracted values, URL aliases and the log
of the requests they received."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base, JsonText, utcnow


class Integration(Base):
    __tablename__ = "project__integration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    template_id: Mapped[int] = mapped_column(
        ForeignKey("project__template.id", ondelete="CASCADE"), index=True
    )
    auth_method: Mapped[str] = mapped_column(String(16), default="")
    auth_secret_id: Mapped[int | None] = mapped_column(ForeignKey("access_key.id"), index=True)
    auth_header: Mapped[str] = mapped_column(String(255), default="")
    searchable: Mapped[bool] = mapped_column(Boolean, default=False)
    task_params: Mapped[dict | None] = mapped_column(JsonText)


class IntegrationMatcher(Base):
    __tablename__ = "project__integration_matcher"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("project__integration.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    match_type: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16), default="equals")
    body_data_type: Mapped[str] = mapped_column(String(16), default="")
    key: Mapped[str] = mapped_column(String(255), default="")
    value: Mapped[str] = mapped_column(Text, default="")


class IntegrationExtractValue(Base):
    __tablename__ = "project__integration_extract_value"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("project__integration.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    value_source: Mapped[str] = mapped_column(String(16))
    body_data_type: Mapped[str] = mapped_column(String(16), default="")
    key: Mapped[str] = mapped_column(String(255), default="")
    variable: Mapped[str] = mapped_column(String(255), default="")
    variable_type: Mapped[str] = mapped_column(String(16), default="environment")


class IntegrationAlias(Base):
    """A public URL segment; without integration_id it selects the project's searchable ones."""

    __tablename__ = "project__integration_alias"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alias: Mapped[str] = mapped_column(String(32), unique=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__integration.id", ondelete="CASCADE"), index=True
    )


class IntegrationDelivery(Base):
    """One request received on a public integration URL, as one project saw it.

    A global alias reaches several projects: each gets its own row, naming only its own
    integrations. Secret-bearing headers are stored redacted; the body only as a short excerpt.
    """

    __tablename__ = "project__integration_delivery"
    __table_args__ = (Index("ix_project__integration_delivery_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE", name="fk_integration_delivery_project_id")
    )
    received: Mapped[datetime] = mapped_column(default=utcnow)
    # "integration", "project" or "global" alias; the alias itself is kept for the first two.
    alias_kind: Mapped[str] = mapped_column(String(16))
    alias: Mapped[str] = mapped_column(String(32), default="")
    method: Mapped[str] = mapped_column(String(16))
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    headers: Mapped[str] = mapped_column(Text, default="[]")
    body_size: Mapped[int] = mapped_column(Integer, default=0)
    body_excerpt: Mapped[str] = mapped_column(Text, default="")
    # Why nothing could be evaluated (an unreadable or oversized body), else "".
    note: Mapped[str] = mapped_column(String(255), default="")


class IntegrationDeliveryOutcome(Base):
    """What one integration made of a delivery: started a task, or why it did not."""

    __tablename__ = "project__integration_delivery_outcome"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Constraint names stay under MySQL's 64 characters.
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey(
            "project__integration_delivery.id",
            ondelete="CASCADE",
            name="fk_integration_delivery_outcome_delivery_id",
        ),
        index=True,
    )
    # Kept with its name when the integration is deleted, so the log still reads.
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "project__integration.id",
            ondelete="SET NULL",
            name="fk_integration_delivery_outcome_integration_id",
        ),
        index=True,
    )
    integration_name: Mapped[str] = mapped_column(String(255), default="")
    # "started", "refused" (authentication), "skipped" (selection, matchers) or "failed".
    result: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(1024), default="")
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("task.id", ondelete="SET NULL", name="fk_integration_delivery_outcome_task_id"),
        index=True,
    )
