"""Logging in: passwords with a shared failure limit, and browser sessions (API tokens:
api_tokens.py)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import bindparam, select

from semaphore import broker
from semaphore.config import current_config
from semaphore.errors import NotAuthenticated, NotFound, RateLimited, ValidationError
from semaphore.extensions import db
from semaphore.metrics import definitions as metrics
from semaphore.models import Session, User, utcnow
from semaphore.security.passwords import check_password
from semaphore.services import audit
from semaphore.services.auth import prefetch, two_factor
from semaphore.services.users import find_user

SESSION_IDLE_LIMIT = timedelta(days=7)
# However active, a session ends this long after login (the original's cookie limit).
SESSION_LIFETIME = timedelta(days=30)
# A password login has this long to give its second factor.
PENDING_SESSION_LIMIT = timedelta(minutes=5)
# last_active is rewritten at most this often, not on every request.
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
BAD_LOGIN = "Invalid login or password"


# Failed logins (wrong passwords and wrong second-factor codes) are counted twice, in Redis so
# that every web process sees them:
# * per account: login_max_failures of them lock that account, from every address;
# * per address, the set of distinct accounts it failed on: only an address that failed on
#   ACCOUNTS_PER_ADDRESS x login_max_failures different accounts is stopped (spraying one
#   password over many accounts). Failures against one account, however many, never lock out
#   another account or another address; nor, behind a proxy, everyone (see trusted_proxies).
# Each count lasts login_lockout_sec from its last failure; a successful login clears the
# account's count and takes the account out of its address's set.
ACCOUNTS_PER_ADDRESS = 10


def _account_key(login: str) -> tuple[str, str]:
    """(the account's failure counter, the login's digest) in Redis."""
    login_digest = hashlib.sha256(login.lower().encode("utf-8", "surrogatepass")).hexdigest()
    return broker.key("login-failures", "account", login_digest), login_digest


def _address_key(ip: str) -> str:
    return broker.key("login-failures", "address-accounts", ip or "unknown")


def _check_not_locked(login: str, ip: str) -> None:
    config = current_config()
    account, _ = _account_key(login)
    address = _address_key(ip)
    pipe = broker.connection().pipeline()
    pipe.get(account)
    pipe.ttl(account)
    pipe.scard(address)
    pipe.ttl(address)
    failures, account_ttl, accounts, address_ttl = pipe.execute()
    if int(failures or 0) >= config.login_max_failures:
        retry_after = account_ttl
    elif int(accounts or 0) >= config.login_max_failures * ACCOUNTS_PER_ADDRESS:
        retry_after = address_ttl
    else:
        return
    metrics.login_failed("locked")
    raise RateLimited(
        "Too many failed logins; try again later", retry_after=max(int(retry_after), 1)
    )


def _check_not_locked_if_possible(login: str, ip: str) -> None:
    try:
        _check_not_locked(login, ip)
    except redis.RedisError:
        # The limit protects against guessing; it must not lock everyone out when Redis is down.
        current_app.logger.warning("login failure limit unavailable: Redis is unreachable")


def _record_failure(login: str, ip: str) -> None:
    window = current_config().login_lockout_sec
    account, login_digest = _account_key(login)
    address = _address_key(ip)
    pipe = broker.connection().pipeline()
    pipe.incr(account)
    pipe.expire(account, window)
    pipe.sadd(address, login_digest)
    pipe.expire(address, window)
    pipe.execute()


def _clear_failures(login: str, ip: str) -> None:
    account, login_digest = _account_key(login)
    pipe = broker.connection().pipeline()
    pipe.delete(account)
    pipe.srem(_address_key(ip), login_digest)
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
    method = "ldap" if current_config().ldap_enable else "password"
    try:
        _check_not_locked_if_possible(login, ip)
    except RateLimited:
        _audit_failure(login, ip, method, "locked")
        raise
    user = _verify_password(login, password)
    if user is None:
        metrics.login_failed("password")
        _audit_failure(login, ip, method, "bad_password")
        try:
            _record_failure(login, ip)
        except redis.RedisError:
            current_app.logger.warning("login failure not counted: Redis is unreachable")
        raise NotAuthenticated(BAD_LOGIN)
    try:
        _clear_failures(login, ip)
    except redis.RedisError:
        pass
    return user


def _audit_failure(login: str, ip: str, method: str, reason: str) -> None:
    # The login tried is kept as text: it may name no user at all.
    audit.commit_alone(
        "login_failed",
        None,
        actor_login=login,
        address=ip,
        details={"method": method, "reason": reason},
    )


def _verify_password(login: str, password: str) -> User | None:
    """The user whose directory or local password this is; None when it is wrong.

    With LDAP on, the directory is asked first, as in the original; a login it does not know
    falls through to the local users. Raises ServiceUnavailable when the directory is down.
    """
    if current_config().ldap_enable:
        # ldap3 loads only where LDAP is on.
        from semaphore.services.auth import ldap as ldap_login

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
    """Record a new browser session for the user.

    A password login of a user with TOTP starts unverified: it opens nothing until
    verify_session() or recover_session() accepts the second factor. OIDC logins are not
    asked again: the identity provider owns the user's factors.
    """
    verified = not (via == "password" and two_factor.is_enabled(user))
    session = Session(user_id=user.id, ip=ip[:64], user_agent=user_agent[:512], verified=verified)
    db.session.add(session)
    if verified:
        # A login waiting for its second factor is recorded once the code is accepted.
        method = "ldap" if via == "password" and user.external else via
        audit.record("login", user, address=ip, details={"method": method})
    db.session.commit()
    return session


def _live_session(session_id: int) -> Session | None:
    return _still_live(db.session.get(Session, session_id))


def _still_live(row: Session | None) -> Session | None:
    """The session row unless it has ended; one that has just run out is marked expired."""
    if row is None or row.expired:
        return None
    now = utcnow()
    idle = now - row.last_active > SESSION_IDLE_LIMIT
    too_old = now - row.created > SESSION_LIFETIME
    unfinished = not row.verified and now - row.created > PENDING_SESSION_LIMIT
    if idle or too_old or unfinished:
        row.expired = True
        db.session.commit()
        return None
    return row


# The session and its user in one round trip (the user outer-joined: a session whose user is
# gone still ends by the rules of _still_live), with a project and the user's role in it on
# project routes (prefetch.py). Built once: it runs on every browser request.
_SESSION_AND_USER = prefetch.SignInStatement(
    select(Session, User)
    .outerjoin(User, User.id == Session.user_id)
    .where(Session.id == bindparam("session_id"))
)


def user_for_session(session_id: int, project_id: int | None = None) -> User | None:
    """The user of a live, verified session, refreshing its last activity; else None.

    With a project id, the project and the user's role in it are read by the same statement
    and kept for this request's permission check (prefetch.py).
    """
    found = _SESSION_AND_USER.first({"session_id": session_id}, project_id)
    row = _still_live(found[0] if found is not None else None)
    if row is None or not row.verified or found[1] is None:
        return None
    user = found[1]
    prefetch.remember(user, project_id, found)
    if utcnow() - row.last_active > SESSION_TOUCH_INTERVAL:
        row.last_active = utcnow()
        db.session.commit()
    return user


def is_waiting_for_second_factor(session_id: int) -> bool:
    """Whether this session passed the password and waits for a TOTP or recovery code."""
    row = _live_session(session_id)
    return row is not None and not row.verified


def _pending_session(session_id: int | None) -> tuple[Session, User]:
    row = _live_session(session_id) if isinstance(session_id, int) else None
    user = db.session.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        raise NotAuthenticated("Not authenticated")
    return row, user


def verify_session(session_id: int | None, passcode: object, ip: str) -> None:
    """Finish a password login with a TOTP code (each code works once).

    Raises:
        NotAuthenticated: no session waiting, or a wrong or reused code.
        RateLimited: too many recent failures for this user or address.
    """
    _finish_second_factor(
        session_id, ip, "totp", lambda user: two_factor.check_passcode(user, passcode)
    )


def recover_session(session_id: int | None, recovery_code: object, ip: str) -> None:
    """Finish a password login with one of the user's single-use recovery codes."""
    _finish_second_factor(
        session_id,
        ip,
        "recovery_code",
        lambda user: two_factor.use_recovery_code(user, recovery_code),
    )


def _finish_second_factor(session_id: int | None, ip: str, method: str, check) -> None:
    row, user = _pending_session(session_id)
    if row.verified:
        return
    try:
        _check_not_locked_if_possible(user.username, ip)
    except RateLimited:
        _audit_failure(user.username, ip, method, "locked")
        raise
    if not check(user):
        metrics.login_failed("second_factor")
        _audit_failure(user.username, ip, method, "bad_code")
        try:
            _record_failure(user.username, ip)
        except redis.RedisError:
            current_app.logger.warning("code failure not counted: Redis is unreachable")
        raise NotAuthenticated(two_factor.BAD_CODE)
    row.verified = True
    row.last_active = utcnow()
    audit.record("login", user, address=ip, details={"method": f"password+{method}"})
    db.session.commit()


def end_session(session_id: int) -> None:
    """Expire one session (logout)."""
    row = db.session.get(Session, session_id)
    if row is not None and not row.expired:
        row.expired = True
        if row.verified:
            audit.record("logout", db.session.get(User, row.user_id))
        db.session.commit()


def list_sessions(actor: User) -> list[Session]:
    """The actor's signed-in sessions, newest first (expired and unverified ones left out)."""
    query = (
        select(Session)
        .where(Session.user_id == actor.id, Session.expired.is_(False), Session.verified)
        .order_by(Session.created.desc(), Session.id.desc())
    )
    now = utcnow()
    return [
        row
        for row in db.session.scalars(query)
        if now - row.last_active <= SESSION_IDLE_LIMIT and now - row.created <= SESSION_LIFETIME
    ]


def revoke_session(actor: User, session_id: int) -> None:
    """Sign one of the actor's sessions out.

    Raises:
        NotFound: the actor has no such live session.
    """
    row = db.session.get(Session, session_id)
    if row is None or row.user_id != actor.id or row.expired:
        raise NotFound("Session not found")
    row.expired = True
    db.session.commit()
