"""Answers already written as JSON (a list model's `dump_json`), sent as they are."""

from __future__ import annotations

from flask import Response


def json_answer(body: bytes, status: int = 200) -> Response:
    """The JSON body as the answer, with jsonify's content type."""
    return Response(body, status=status, mimetype="application/json")
