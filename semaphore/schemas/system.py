"""What the server tells about itself: /api/ping, /api/info and /api/ready."""

from __future__ import annotations

from typing import Any

from pydantic import RootModel

from semaphore.schemas.base import OutputModel


class Pong(RootModel[str]):
    """GET /api/ping: the text "pong" (text/plain)."""


class AuthMethods(OutputModel):
    password: bool
    ldap: bool
    oidc: list[str]


class InfoOut(OutputModel):
    """GET /api/info."""

    version: str
    ansible: str
    web_host: str
    use_remote_runner: bool
    git_client: str
    schedule_timezone: str
    auth_methods: AuthMethods
    features: dict[str, Any]


class ReadyOut(OutputModel):
    """GET /api/ready when the database and Redis both answer."""

    status: str
    database: str
    redis: str


class NotReady(OutputModel):
    """GET /api/ready's 503: which of the two does not answer."""

    error: str
    database: str
    redis: str
