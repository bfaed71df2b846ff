"""What every /api/project/{id}/... route needs: the caller's access and the list parameters."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from semaphore.services.permissions import ProjectAccess, project_access


def access(project_id: int) -> ProjectAccess:
    """The current user's access to the project (NotFound for non-members)."""
    return project_access(current_user, project_id)


def sort_args() -> tuple[str | None, str | None]:
    """The original's `sort` and `order` query parameters."""
    return request.args.get("sort"), request.args.get("order")
