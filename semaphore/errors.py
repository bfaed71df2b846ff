"""The one exception hierarchy that services raise; api/ and web/ turn it into responses.

No Flask imports here: jobs, the CLI and tests catch these too.
"""

from __future__ import annotations


class SemaphoreError(Exception):
    """A request that cannot be carried out; `status` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(SemaphoreError):
    """Bad input; `field` names the offending field when there is one."""


class NotAuthenticated(SemaphoreError):
    status = 401


class PermissionDenied(SemaphoreError):
    status = 403


class NotFound(SemaphoreError):
    status = 404


class Conflict(SemaphoreError):
    """A duplicate, or an object still in use."""

    status = 409


class PayloadTooLarge(SemaphoreError):
    status = 413


class RateLimited(SemaphoreError):
    status = 429

    def __init__(self, message: str, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(SemaphoreError):
    status = 503


class ConfigError(Exception):
    """A configuration value that cannot be used; the message names the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"configuration error in '{key}': {message}")
        self.key = key


class InUse(SemaphoreError):
    """Deleting an object that templates (or other objects) still use; the original's 400.

    `used_by` lists them: [{"kind": "template", "id": 3, "name": "deploy"}, ...].
    """

    status = 400

    def __init__(self, message: str, used_by: list[dict] | None = None) -> None:
        super().__init__(message)
        self.used_by = used_by or []
        self.extra = {"inUse": True, "used_by": self.used_by}
