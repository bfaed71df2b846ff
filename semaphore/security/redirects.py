"""Return paths after login: only paths on this site, so the login cannot be an open redirect."""

from __future__ import annotations

from urllib.parse import urlsplit


def same_site_path(target: str | None) -> str:
    """The target when it is a path on this site, else "".

    An absolute URL or `//host` would send the user to another site; browsers read a
    backslash as a slash, and control characters can split a header.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return ""
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return ""
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else ""
