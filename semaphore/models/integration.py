"""Integrations: incoming webhooks with their matchers, extracted values and URL aliases."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base


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
    task_params: Mapped[str | None] = mapped_column(Text)


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
