"""The OpenAPI 3.1 document of the JSON API, built by spectree from the routes and the schemas.

A route declares its body and answers with `@documented(...)`; spectree reads every route of the
app (declared or not) when `/api/openapi.json` is asked for. We validate through the schemas in
the services, never in spectree (routes are declared, not wrapped): one rule, one place.
Operations that the original's contract does not have carry `x-semaphore-addition: true`.
The page at /api/docs (Swagger UI) loads vendored assets, never a CDN.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, jsonify, render_template
from flask import Response as FlaskResponse
from pydantic import BaseModel
from spectree import Response, SpecTree

from semaphore.schemas.base import ErrorAnswer
from semaphore.version import __version__

ADDITION_TAG = "addition"
spec = SpecTree(
    "flask",
    title="Semaphore (Python) API",
    description=(
        "Compatible with Semaphore UI 2.16.14's API. Operations marked (addition) are ours."
    ),
    version=__version__,
    # spectree leaves out of the document every route under its own path: one we never use.
    path="_spectree",
    filename="openapi.json",
    mode="normal",
    # Bad input is 400 {"error": ...}, as every other refusal of ours.
    validation_error_status=400,
    validation_error_model=ErrorAnswer,
    # Components named as the models are (a test keeps the names unique).
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda parent, child: child,
    annotations=False,
    # Our own page serves Swagger UI from vendored files; spectree's load them from a CDN.
    page_templates={},
    security=[{"bearer": []}, {"cookie": []}],
)
# The contract's two ways in: a Bearer API token, or the session cookie of /api/auth/login.
WEBSOCKET_OPERATION = {
    "summary": "Live task updates and output over a WebSocket (upgrade this GET)",
    "operationId": "get_api_ws",
    "responses": {
        "200": {"description": "Upgraded to a WebSocket"},
        "401": {"description": "Not authenticated"},
    },
}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "semaphore"},
}


def documented(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    answers: Mapping[int, type[BaseModel] | None] | None = None,
    tags: Iterable[str] = (),
    addition: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route's request body, query and answers (status -> model, None for no body).

    `addition` marks an operation the original's contract does not have. The route itself is
    left unwrapped: spectree's wrapper would re-read every answer whole (a streamed log too) to
    validate what we already validate; spectree finds the declaration along `__wrapped__`.
    """
    responses = {f"HTTP_{status}": model for status, model in (answers or {}).items()}
    declaration = spec.validate(
        json=body,
        query=query,
        resp=Response(**responses) if responses else None,
        tags=[*tags, *([ADDITION_TAG] if addition else [])],
        skip_validation=True,
    )

    def declare(view: Callable[..., Any]) -> Callable[..., Any]:
        view.__wrapped__ = declaration(view)  # type: ignore[attr-defined]
        return view

    return declare


def register(app: Flask) -> None:
    """Serve /api/openapi.json and the Swagger UI page at /api/docs, both without login.

    Their endpoints start with "openapi", which keeps them out of the document itself.
    """
    app.add_url_rule("/api/openapi.json", "openapi_document", _document)
    app.add_url_rule("/api/docs", "openapi_docs_page", _docs_page)


def _document() -> FlaskResponse:
    document = copy.deepcopy(spec.spec)  # spectree caches the one it built
    # spectree reads every route of the app; the pages are not part of the API.
    document["paths"] = {
        path: item for path, item in document["paths"].items() if path.startswith("/api/")
    }
    for item in document["paths"].values():
        for operation in item.values():
            _polish(operation)
    # spectree leaves WebSocket routes out; the contract documents /ws as a GET.
    document["paths"]["/api/ws"] = {"get": WEBSOCKET_OPERATION}
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    return jsonify(document)


def _polish(operation: dict[str, Any]) -> None:
    """Readable summaries for routes without a docstring ("list_keys <GET>" -> "List keys"),
    and our additions marked by an extension rather than shown twice under their own tag."""
    summary = operation.get("summary") or ""
    if summary.endswith(">") and " <" in summary:
        words = summary.rsplit(" <", 1)[0].replace("_", " ").strip()
        operation["summary"] = words[:1].upper() + words[1:]
    tags = operation.get("tags", [])
    if ADDITION_TAG in tags:
        tags.remove(ADDITION_TAG)
        operation["x-semaphore-addition"] = True
        operation["summary"] = f"{operation.get('summary', '')} (addition)".strip()


def _docs_page() -> str:
    return render_template("api/docs.html")
