"""What uses an object (GET …/refs), by kind."""

from __future__ import annotations

from semaphore.schemas.base import OutputModel


class Referrer(OutputModel):
    id: int
    name: str


class Referrers(OutputModel):
    """Each kind is always present, an empty list when nothing of that kind uses the object."""

    templates: list[Referrer]
    inventories: list[Referrer]
    repositories: list[Referrer]
    integrations: list[Referrer]
    schedules: list[Referrer]
