"""The JSON API under /api, compatible with the original's contract (semaphore-api-docs.yml)."""

from __future__ import annotations

# Route modules register themselves on the blueprint when imported.
from semaphore.api import (  # noqa: E402,F401
    account,
    apps,
    audit,
    auth,
    backup,
    environments,
    errors,
    integrations,
    inventories,
    keys,
    oidc,
    options,
    projects,
    queue,
    repositories,
    runners,
    schedules,
    system,
    tasks,
    templates,
    users,
    views,
    ws,
)
from semaphore.api.blueprint import api_blueprint, public  # noqa: F401 - what the app registers
