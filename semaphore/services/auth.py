"""Logging in: passwords with a shared failure limit, browser sessions and API tokens."""

from __future__ import annotations

from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import select

from semaphore import broker
from semaphore.errors import NotAuthenticated, NotFound, RateLimited, ValidationError
from semaphore.extensions import db
from semaphore.models import APIToken, Session, User, utcnow
from semaphore.security.passwords import check_password
from semaphore.security.tokens import digest, new_api_token
from semaphore.services import ldap_login
from semaphore.services import validation as v
from semaphore.services.settings import current_config
from semaphore.services.users import find_user

SESSION_IDLE_LIMIT = timedelta(days=7)
# last_active is rewritten at most this often, not on every request.
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
TOKEN_HANDLE_LENGTH = 16
BAD_LOGIN = "Invalid login or password"


def _failure_keys(login: str, ip: str) -> list[tuple[str, int]]:
    limit = current_config().login_max_failures
    # One address may try several accounts before it is stopped; one account is kept tighter.
    return [
        (broker.key("login-failures", "login", login.lower()), limit),
        (broker.key("login-failures", "ip", ip), limit * 4),
    ]


def _check_not_locked(login: str, ip: str) -> None:
    client = broker.connection()
    for key, limit in _failure_keys(login, ip):
        count = int(client.get(key) or 0)
        if count >= limit:
            ttl = client.ttl(key)
            raise RateLimited(
                "Too many failed logins; try again later", retry_after=max(int(ttl), 1)
            )


def _record_failure(login: str, ip: str) -> None:
    window = current_config().login_lockout_sec
    pipe = broker.connection().pipeline()
    for key, _ in _failure_keys(login, ip):
        pipe.incr(key)
        pipe.expire(key, window)
    pipe.execute()


def authenticate(login: str, password: str, ip: str) -> User:
    """The user with this username or e-mail and password.

    Raises:
        ValidationError: login or password missing.
        RateLimited: too many recent failures for this login or address.
        NotAuthenticated: wrong login or password (the message does not say which).
    """
    if not isinstance(login, str) or not login.strip():
        raise ValidationError("auth is required", "auth")
    if not isinstance(password, str) or not password:
        raise ValidationError("password is required", "password")
    login = login.strip()
    try:
        _check_not_locked(login, ip)
    except redis.RedisError:
        # The limit protects against guessing; it must not lock everyone out when Redis is down.
        current_app.logger.warning("login failure limit unavailable: Redis is unreachable")
    user = _verify_password(login, password)
    if user is None:
        try:
            _record_failure(login, ip)
        except redis.RedisError:
            current_app.logger.warning("login failure not counted: Redis is unreachable")
        raise NotAuthenticated(BAD_LOGIN)
    try:
        broker.connection().delete(_failure_keys(login, ip)[0][0])
    except redis.RedisError:
        pass
    return user


def _verify_password(login: str, password: str) -> User | None:
    """The user whose directory or local password this is; None when it is wrong.

    With LDAP on, the directory is asked first, as in the original; a login it does not know
    falls through to the local users. Raises ServiceUnavailable when the directory is down.
    """
    if current_config().ldap_enable:
        try:
            directory_user = ldap_login.authenticate(login, password)
        except NotAuthenticated:
            return None
        if directory_user is not None:
            return directory_user
    user = find_user(login)
    hashed = user.password if user is not None and not user.external else None
    return user if check_password(password, hashed) else None


def start_session(user: User, ip: str, user_agent: str, via: str = "password") -> Session:
    """Record a new browser session for the user."""
    session = Session(user_id=user.id, ip=ip[:64], user_agent=user_agent[:512])
    db.session.add(session)
    db.session.commit()
    return session


def user_for_session(session_id: int) -> User | None:
    """The user of a live session, refreshing its last activity; None if expired or idle."""
    row = db.session.get(Session, session_id)
    if row is None or row.expired:
        return None
    now = utcnow()
    if now - row.last_active > SESSION_IDLE_LIMIT:
        row.expired = True
        db.session.commit()
        return None
    user = db.session.get(User, row.user_id)
    if user is not None and now - row.last_active > SESSION_TOUCH_INTERVAL:
        row.last_active = now
        db.session.commit()
    return user


def end_session(session_id: int) -> None:
    """Expire one session (logout)."""
    row = db.session.get(Session, session_id)
    if row is not None and not row.expired:
        row.expired = True
        db.session.commit()


def create_token(actor: User, data: object = None) -> tuple[APIToken, str]:
    """A new API token for the actor; returns the row and the token, which is shown once."""
    name = v.string(data, "name", default="") if isinstance(data, dict) else ""
    raw = new_api_token()
    token = APIToken(
        id=raw[:TOKEN_HANDLE_LENGTH], token_hash=digest(raw), user_id=actor.id, name=name
    )
    db.session.add(token)
    db.session.commit()
    return token, raw


def list_tokens(actor: User) -> list[APIToken]:
    """The actor's tokens, expired ones included, oldest first."""
    query = select(APIToken).where(APIToken.user_id == actor.id).order_by(APIToken.created)
    return list(db.session.scalars(query))


def expire_token(actor: User, token_id: str) -> None:
    """Expire one of the actor's tokens, named by its handle or by the whole token.

    Raises:
        NotFound: the actor has no such token.
    """
    column, value = (
        (APIToken.id, token_id)
        if len(token_id) <= TOKEN_HANDLE_LENGTH
        else (APIToken.token_hash, digest(token_id.lower()))
    )
    token = db.session.scalar(select(APIToken).where(column == value, APIToken.user_id == actor.id))
    if token is None:
        raise NotFound("API token not found")
    token.expired = True
    db.session.commit()


def user_for_token(raw: str) -> User | None:
    """The owner of a valid (unexpired) bearer token."""
    token = db.session.scalar(
        select(APIToken).where(APIToken.token_hash == digest(raw.strip().lower()))
    )
    if token is None or token.expired:
        return None
    return db.session.get(User, token.user_id)
