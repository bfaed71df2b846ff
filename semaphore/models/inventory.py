"""Inventories: static INI/YAML text, a file in a repository, or a Terraform workspace."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from semaphore.models.base import Base

INVENTORY_TYPES = ("static", "static-yaml", "file", "terraform-workspace")


class Inventory(Base):
    __tablename__ = "project__inventory"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32), default="static")
    inventory: Mapped[str] = mapped_column(Text, default="")
    ssh_key_id: Mapped[int | None] = mapped_column(ForeignKey("access_key.id"), index=True)
    become_key_id: Mapped[int | None] = mapped_column(ForeignKey("access_key.id"), index=True)
    repository_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__repository.id"), index=True
    )
    # The template that owns a generated terraform-workspace inventory.
    holder_id: Mapped[int | None] = mapped_column(
        ForeignKey("project__template.id", ondelete="CASCADE", use_alter=True), index=True
    )
