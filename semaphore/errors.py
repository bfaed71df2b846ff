"""The one exception hierarchy that services raise; api/ and web/ turn it into responses.

No Flask imports here: jobs, the CLI and tests catch these too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


class SemaphoreError(Exception):
    """A request that cannot be carried out; `status` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(SemaphoreError):
    """Bad input; `field` names the offending field when there is one.

    `problems` lists every (message, field) found, the first being `message` and `field`: the
    API answers with the first only, a form shows each at its field.
    """

    def __init__(
        self,
        message: str,
        field: str | None = None,
        problems: Iterable[tuple[str, str | None]] | None = None,
    ) -> None:
        super().__init__(message, field)
        self.problems = list(problems or []) or [(message, field)]

    @classmethod
    def of(cls, problems: list[tuple[str, str | None]]) -> ValidationError:
        """One error carrying several problems (at least one)."""
        message, field = problems[0]
        return cls(message, field, problems)


class Problems:
    """The problems of a request's independent checks, gathered so that a form can show them
    all at once; the first stays the one the API has always answered with. A field that
    already has a problem gets no second one (a later check would repeat the same fault)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str | None]] = []

    def check(self, check: Callable[[], T]) -> T | None:
        """`check()`'s result, or None when it raised a ValidationError (kept)."""
        try:
            return check()
        except ValidationError as exc:
            self.add(exc)
            return None

    def add(self, exc: ValidationError) -> None:
        taken = {field for _, field in self.found if field}
        self.found += [(m, f) for m, f in exc.problems if not (f and f in taken)]

    def raise_any(self) -> None:
        """Raise what was found, if anything.

        Raises:
            ValidationError: every problem found, the first as its message and field.
        """
        if self.found:
            raise ValidationError.of(self.found)


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
