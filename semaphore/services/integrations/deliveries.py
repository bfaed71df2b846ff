"""The delivery log: every request received on a project's integration URLs, what each of its
integrations made of it, and the task it started (GitHub's "recent deliveries", per project).

Secret-bearing headers are stored redacted, the body only as an excerpt, and each project keeps
its last DELIVERIES_KEPT deliveries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from semaphore.extensions import db
from semaphore.models import IntegrationDelivery, IntegrationDeliveryOutcome
from semaphore.services.permissions import ProjectAccess
from semaphore.services.validation import parse_json_text

if TYPE_CHECKING:
    from semaphore.services.integrations.hooks import Incoming, Outcome, Selection

DELIVERIES_KEPT = 200
DELIVERIES_SHOWN = 50
BODY_EXCERPT_BYTES = 4096
MAX_HEADERS = 64
MAX_HEADER_VALUE = 512
# Headers whose values are never stored: credentials, signatures and anything named like them.
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
SECRET_HEADER_WORDS = ("token", "secret", "signature", "password", "auth", "key", "session")


@dataclass(frozen=True)
class DeliveryView:
    """A delivery with its outcomes, for the pages."""

    delivery: IntegrationDelivery
    outcomes: list[IntegrationDeliveryOutcome]

    @property
    def headers(self) -> list[list[str]]:
        return parse_json_text(self.delivery.headers or "[]", default=[])

    @property
    def started(self) -> bool:
        return any(o.result == "started" for o in self.outcomes)


def shorten(text: str, limit: int) -> str:
    """The text, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_secret_header(name: str, extra: Iterable[str] = ()) -> bool:
    """True for headers that carry credentials or signatures (their values are never shown)."""
    lowered = name.lower()
    return (
        lowered in SECRET_HEADERS
        or lowered in {e.lower() for e in extra if e}
        or any(word in lowered for word in SECRET_HEADER_WORDS)
    )


def _clean(text: str) -> str:
    # No database stores NUL in text.
    return text.replace("\x00", "\ufffd")


def stored_headers(headers: Sequence[tuple[str, str]], secret_names: Iterable[str] = ()) -> str:
    """The headers as JSON [[name, value], …], with secret-bearing values replaced."""
    extra = [name for name in secret_names if name]
    kept = []
    for name, value in list(headers)[:MAX_HEADERS]:
        if is_secret_header(name, extra):
            value = f"(redacted, {len(value)} characters)"
        kept.append([_clean(name[:128]), _clean(shorten(value, MAX_HEADER_VALUE))])
    return json.dumps(kept)


def record(
    project_id: int, selection: Selection, incoming: Incoming, outcomes: list[Outcome]
) -> IntegrationDelivery:
    """Add the delivery as one project saw it (the caller commits), and prune old ones."""
    note = incoming.note
    if not outcomes and not note:
        note = "no searchable integration in this project"
    excerpt = (incoming.body or b"")[:BODY_EXCERPT_BYTES].decode("utf-8", "replace")
    delivery = IntegrationDelivery(
        project_id=project_id,
        alias_kind=selection.kind,
        alias=selection.alias,
        method=incoming.method[:16],
        remote_addr=(incoming.remote_addr or "")[:64],
        headers=stored_headers(incoming.headers, (o.integration.auth_header for o in outcomes)),
        body_size=incoming.body_size,
        body_excerpt=_clean(excerpt),
        note=note[:255],
    )
    db.session.add(delivery)
    db.session.flush()
    for outcome in outcomes:
        db.session.add(
            IntegrationDeliveryOutcome(
                delivery_id=delivery.id,
                integration_id=outcome.integration.id,
                integration_name=outcome.integration.name,
                result=outcome.result,
                reason=outcome.reason[:1024],
                task_id=outcome.task_id,
            )
        )
    _prune(project_id)
    return delivery


def _prune(project_id: int) -> None:
    oldest_kept = db.session.scalar(
        select(IntegrationDelivery.id)
        .where(IntegrationDelivery.project_id == project_id)
        .order_by(IntegrationDelivery.id.desc())
        .offset(DELIVERIES_KEPT - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        # Their outcomes go with them (ON DELETE CASCADE).
        db.session.execute(
            delete(IntegrationDelivery).where(
                IntegrationDelivery.project_id == project_id,
                IntegrationDelivery.id < oldest_kept,
            )
        )


def list_deliveries(
    access: ProjectAccess, integration_id: int | None = None, limit: int = DELIVERIES_SHOWN
) -> list[DeliveryView]:
    """The project's latest deliveries, newest first; with an integration, those that reached it
    (each with that integration's outcome only)."""
    query = select(IntegrationDelivery).where(IntegrationDelivery.project_id == access.project_id)
    if integration_id is not None:
        reached = select(IntegrationDeliveryOutcome.delivery_id).where(
            IntegrationDeliveryOutcome.integration_id == integration_id
        )
        query = query.where(IntegrationDelivery.id.in_(reached))
    deliveries = list(
        db.session.scalars(query.order_by(IntegrationDelivery.id.desc()).limit(limit))
    )
    outcomes: dict[int, list[IntegrationDeliveryOutcome]] = {d.id: [] for d in deliveries}
    if deliveries:
        rows = db.session.scalars(
            select(IntegrationDeliveryOutcome)
            .where(IntegrationDeliveryOutcome.delivery_id.in_(outcomes))
            .order_by(IntegrationDeliveryOutcome.id)
        )
        for row in rows:
            if integration_id is None or row.integration_id == integration_id:
                outcomes[row.delivery_id].append(row)
    return [DeliveryView(d, outcomes[d.id]) for d in deliveries]
