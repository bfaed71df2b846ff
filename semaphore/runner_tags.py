"""What a runner tag may be: the one rule for a runner's tags (API, registration, the runner's
own config) and a template's runner_tag. A leaf, so that config.py can use it too."""

from __future__ import annotations

MAX_TAG = 64


def tag_problem(tag: str) -> str | None:
    """Why this (trimmed) tag is not allowed, or None."""
    if not tag:
        return "must not hold an empty tag"
    if len(tag) > MAX_TAG:
        return f"must hold tags of at most {MAX_TAG} characters"
    if any(char.isspace() or char == "," for char in tag):
        return "must hold tags without spaces or commas"
    return None
