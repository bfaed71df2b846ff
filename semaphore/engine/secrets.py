"""Masking secret values in task output before anything stores or streams it.

The original shows every line verbatim, so a playbook that prints a password publishes it to
every project member. Here each output line passes through a Masker that knows every secret of
the run (key passwords, passphrases, private keys, vault passwords, secret survey values and
environment secrets) and replaces each occurrence with MASK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

MASK = "********"


class Masker:
    """Replaces every known secret value in a line with ********."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*values)

    def add(self, *values: str) -> None:
        """Learn more secrets. Multi-line values are masked line by line: no variant holds a
        line break, so masking many lines at once never joins two of them."""
        for value in values:
            for variant in _variants(value):
                self._values.add(variant)
        if self._values:
            # Longest first, so that a secret containing another one is masked whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def add_object(self, value: Any) -> None:
        """Learn every scalar inside a JSON-like value (secret survey answers may be objects)."""
        if isinstance(value, dict):
            for item in value.values():
                self.add_object(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self.add_object(item)
        elif isinstance(value, str):
            self.add(value)
        elif value is not None and not isinstance(value, bool):
            self.add(str(value))

    def mask(self, text: str) -> str:
        """The text (one line or many) with each secret replaced by MASK."""
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self._values)


def _variants(value: str) -> set[str]:
    """The forms a secret takes in output: each of its lines, and JSON-escaped (a one-line
    secret's line is itself)."""
    found: set[str] = set()
    for candidate in value.splitlines():
        candidate = candidate.strip()
        if not candidate or candidate.startswith("-----"):
            # Empty, or a PEM armour line ("-----BEGIN OPENSSH PRIVATE KEY-----"), which is
            # not secret and would mask every key banner in the log.
            continue
        found.add(candidate)
        escaped = json.dumps(candidate, ensure_ascii=False)[1:-1]
        if escaped != candidate:
            # ansible -vvvv and debug output show strings JSON-escaped.
            found.add(escaped)
    return found
