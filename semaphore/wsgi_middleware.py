"""The original's URL habits: trailing slashes stripped, the web_host prefix (WSGI wrappers),
and ids in paths that the database can hold (the `int` URL converter)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

# Ids are INTEGER columns: PostgreSQL's (and SQLite's, as far as Python's driver goes) range.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a number past MAX_ID is a 400, before any query runs
    (SQLite's driver raises OverflowError past 2**63, PostgreSQL refuses it as an integer)."""

    def to_python(self, value: str) -> int:
        digits = value.lstrip("0")  # (int() refuses numbers past 4,300 digits)
        if len(digits) > len(str(MAX_ID)) or int(digits or "0") > MAX_ID:
            raise BadRequest(f"Identifier out of range (at most {MAX_ID})")
        return super().to_python(value)


class StripTrailingSlash:
    """`/api/user/` and `/api/user` are the same route, as in the original."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if len(path) > 1 and path.endswith("/"):
            environ["PATH_INFO"] = path.rstrip("/") or "/"
        return self.app(environ, start_response)


class PrefixMiddleware:
    """Serve the app under the path of web_host (e.g. https://example.com/semaphore)."""

    def __init__(self, app: Callable, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix) :] or "/"
            return self.app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not found"]
