"""The OpenAPI 3.1 document of the JSON API, built by spectree from the routes and the schemas.

A route declares its body and answers with `@documented(...)`; spectree reads every route of the
app (declared or not) when `/api/openapi.json` is asked for. We validate through the schemas in
the services, not in spectree (`skip_validation`): one rule, one place, and our error texts.
Operations that the original's contract does not have are marked `x-semaphore-addition` by their
tag. The page at /api/docs (Swagger UI) loads vendored assets, never a CDN.
"""

from __future__ import annotations

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
        "Compatible with Semaphore UI 2.16.14's API. Operations tagged `addition` are ours."
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

    `addition` marks an operation the original's contract does not have.
    """
    responses = {f"HTTP_{status}": model for status, model in (answers or {}).items()}
    return spec.validate(
        json=body,
        query=query,
        resp=Response(**responses) if responses else None,
        tags=[*tags, *([ADDITION_TAG] if addition else [])],
        skip_validation=True,
    )


def register(app: Flask) -> None:
    """Serve /api/openapi.json and the Swagger UI page at /api/docs, both without login.

    Their endpoints start with "openapi", which keeps them out of the document itself.
    """
    app.add_url_rule("/api/openapi.json", "openapi_document", _document)
    app.add_url_rule("/api/docs", "openapi_docs_page", _docs_page)


def _document() -> FlaskResponse:
    document = spec.spec
    # spectree reads every route of the app; the pages are not part of the API.
    document["paths"] = {
        path: item for path, item in document["paths"].items() if path.startswith("/api/")
    }
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    return jsonify(document)


def _docs_page() -> str:
    return render_template("api/docs.html")
