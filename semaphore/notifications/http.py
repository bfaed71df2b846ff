"""POSTing a JSON payload to a chat service, with a timeout and errors that name no secret.

Webhook URLs and bot tokens are secrets (whoever has one can post), so no message here
contains the URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from semaphore.version import __version__

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024
ERROR_BODY_CHARS = 200


class NotificationError(Exception):
    """A channel could not deliver its message; the text is safe to log."""


def post_json(url: str, payload: Any, *, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """POST `payload` as JSON; returns the response body of a 2xx answer.

    Raises:
        NotificationError: the URL is not http(s), the service is unreachable, too slow, or
            answered with another status.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise NotificationError("the URL is not an http:// or https:// URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"Semaphore-Python/{__version__}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            body = response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        detail = exc.read(ERROR_BODY_CHARS).decode(errors="replace").strip()
        raise NotificationError(f"answered HTTP {exc.code}: {detail}".rstrip(": ")) from None
    except urllib.error.URLError as exc:
        raise NotificationError(f"unreachable: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise NotificationError(f"unreachable: {exc}") from None
    if not 200 <= status < 300:
        raise NotificationError(f"answered HTTP {status}")
    return body
