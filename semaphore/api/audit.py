"""The audit trail (ours): GET /api/audit, administrators only, newest first and paged."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_login import current_user

from semaphore.api.blueprint import api_blueprint
from semaphore.api.openapi import documented
from semaphore.api.paging import page_args, paged
from semaphore.schemas.audit import AuditEventList, AuditQuery
from semaphore.services import audit

TAGS = ("audit",)


@api_blueprint.get("/audit")
@documented(query=AuditQuery, answers={200: AuditEventList}, tags=TAGS, addition=True)
def list_audit_events() -> Response:
    """Sign-ins, failures and security changes: filter by `kind`, `actor` (part of the
    login, any case) and the days `since` and `until` (UTC, included)."""
    page = page_args()
    rows = audit.list_events(current_user, request.args, page=page)
    return paged(jsonify(AuditEventList.dump(rows)), page, rows.total)
