"""The runner protocol's four calls over HTTP: register (POST), poll (GET), report (PUT) and
unregister (DELETE) on <web_host>/api/internal/runners.

A failed call is one of two kinds. ServerUnavailable (no connection, a timeout, a 5xx) is
passing: the caller keeps what it meant to send and tries again later. RunnerRefused (a 4xx)
is not: a wrong registration token, a body refused, or (TokenRejected, 401/404) a token the
server no longer knows, which no retry will fix. The token travels only in the
X-Runner-Token header, and no message here carries it or a body.
"""

from __future__ import annotations

from typing import Any

import requests

PATH = "/api/internal/runners"
# Seconds to connect, then to wait for the answer (a report of many lines takes a while).
TIMEOUT = (5.0, 60.0)


class RunnerError(Exception):
    """Something the runner cannot do; the message says what and why (never a secret)."""


class ServerUnavailable(RunnerError):
    """The server did not answer, or answered 5xx: try again later."""


class RunnerRefused(RunnerError):
    """The server refused the call (4xx); `message` is its `error`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"the server refused the call ({status}): {message}")
        self.status = status
        self.message = message


class TokenRejected(RunnerRefused):
    """401 (no token) or 404 (no runner has it) to a call with the runner's token: the runner
    was unregistered or deleted, and no retry will help."""


class RunnerClient:
    """One server, and this runner's token once it has one."""

    def __init__(self, web_host: str, token: str = "") -> None:
        self.url = web_host.rstrip("/") + PATH
        self.token = token
        self._session = requests.Session()

    def register(
        self, registration_token: str, webhook: str, max_parallel_tasks: int, tags: list[str]
    ) -> str:
        """Register with a registration token; returns the runner's new token.

        Raises:
            RunnerRefused: the token is wrong (400 "Invalid registration token").
            ServerUnavailable: no answer, or a 5xx.
        """
        body = {
            "registration_token": registration_token,
            "webhook": webhook,
            "max_parallel_tasks": max_parallel_tasks,
            "tags": tags,
        }
        answer = self._call("POST", json=body, authenticated=False)
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ServerUnavailable("the registration answer holds no token")
        return token

    def poll(self) -> dict[str, Any]:
        """The runner's state: CurrentJobs, new_jobs, access_keys, active, cleaning_requested.

        Raises:
            TokenRejected: the token is not (or no longer) known.
            RunnerRefused: another 4xx.
            ServerUnavailable: no answer, a 5xx, or an answer that is not a JSON object.
        """
        answer = self._call("GET")
        if not isinstance(answer, dict):
            raise ServerUnavailable("the poll's answer is not a JSON object")
        return answer

    def report(self, jobs: list[dict[str, Any]]) -> None:
        """Send jobs' output lines, statuses and commits (answered 204).

        Raises:
            TokenRejected: the token is not known.
            RunnerRefused: the body was refused.
            ServerUnavailable: no answer, or a 5xx.
        """
        self._call("PUT", json={"Jobs": jobs})

    def unregister(self) -> None:
        """Delete this runner on the server.

        Raises:
            TokenRejected: the token is not known.
            ServerUnavailable: no answer, or a 5xx.
        """
        self._call("DELETE")

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, json: Any = None, authenticated: bool = True) -> Any:
        headers = {"X-Runner-Token": self.token} if authenticated else {}
        try:
            response = self._session.request(
                method, self.url, json=json, headers=headers, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            # The exception's text names the URL and the reason; never a header.
            raise ServerUnavailable(f"{method} {self.url}: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ServerUnavailable(f"{method} {self.url}: {response.status_code}")
        if response.status_code >= 400:
            refused = (
                TokenRejected
                if authenticated and response.status_code in (401, 404)
                else RunnerRefused
            )
            raise refused(response.status_code, _error_of(response))
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServerUnavailable(f"{method} {self.url}: the answer is not JSON") from None


def _error_of(response: requests.Response) -> str:
    """The server's `{"error": ...}` message, else the status's reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return response.reason or str(response.status_code)
