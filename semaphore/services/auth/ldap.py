"""Logging in against an LDAP directory (the ldap_* settings), as the original does.

Bind as ldap_binddn, find the one entry that ldap_searchfilter picks for the login, then bind
as that entry with the given password. The first successful login creates an external user.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ldap3 import ANONYMOUS, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPInvalidFilterError
from ldap3.utils.conv import escape_filter_chars
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from semaphore.config import Config, current_config
from semaphore.errors import NotAuthenticated, ServiceUnavailable
from semaphore.extensions import db
from semaphore.models import User

log = logging.getLogger(__name__)

BAD_LOGIN = "Invalid login or password"
UNAVAILABLE = "LDAP server unavailable"
MISCONFIGURED = "LDAP login is misconfigured"
# A dead or silent directory must fail the login quickly, not hold a web worker.
CONNECT_TIMEOUT = 5.0
RECEIVE_TIMEOUT = 5  # whole seconds: ldap3 packs it into SO_RCVTIMEO as an integer
DEFAULT_FILTER = "(uid=%s)"
# LDAP result codes that mean "the search ran": success, and more entries than we asked for.
SEARCH_OK = {0, 4}


@dataclass(frozen=True)
class DirectoryEntry:
    dn: str
    attributes: Mapping[str, Any]


def authenticate(login: str, password: str) -> User | None:
    """The external user for these directory credentials; None when the directory lacks the login.

    Raises:
        NotAuthenticated: wrong or empty password, several entries for the login, or a local
            (non-external) user already owns the username or e-mail.
        ServiceUnavailable: the directory cannot be reached or the ldap_* settings are wrong.
    """
    # An empty password would be an "unauthenticated bind", which some servers report as success.
    if not password:
        raise NotAuthenticated(BAD_LOGIN)
    config = current_config()
    server = _server(config)
    entry = _find_entry(server, config, login)
    if entry is None:
        return None
    _check_password(server, entry.dn, password)
    return _external_user(config.ldap_mappings, entry)


def _server(config: Config) -> Server:
    raw = config.ldap_server.strip()
    if not raw:
        raise ServiceUnavailable(f"{MISCONFIGURED}: ldap_server is not set")
    use_tls = config.ldap_needtls or raw.lower().startswith("ldaps://")
    # urlsplit parses host, port and [IPv6] for us once the plain "host:port" form has a scheme.
    parts = urlsplit(raw if "://" in raw else f"ldap://{raw}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = None
    if not host or parts.scheme.lower() not in ("ldap", "ldaps"):
        raise ServiceUnavailable(f"{MISCONFIGURED}: ldap_server is not host:port or an ldap:// URL")
    return Server(
        host,
        port=port or (636 if use_tls else 389),
        use_ssl=use_tls,
        # As the original: TLS without checking the certificate.
        tls=Tls(validate=ssl.CERT_NONE) if use_tls else None,
        get_info=NONE,
        connect_timeout=CONNECT_TIMEOUT,
    )


def _connect(server: Server, user: str, password: str) -> Connection:
    """An opened, not yet bound connection; anonymous when no user is given."""
    conn = Connection(
        server,
        user=user or None,
        password=password or None,
        authentication=SIMPLE if user else ANONYMOUS,
        receive_timeout=RECEIVE_TIMEOUT,
        read_only=True,
        auto_referrals=False,
        raise_exceptions=False,
    )
    try:
        conn.open()
    except LDAPException as exc:
        log.warning("LDAP server %s unreachable: %s", server.name, exc)
        raise ServiceUnavailable(UNAVAILABLE) from None
    return conn


def _find_entry(server: Server, config: Config, login: str) -> DirectoryEntry | None:
    if config.ldap_binddn and not config.ldap_bindpassword:
        raise ServiceUnavailable(
            f"{MISCONFIGURED}: ldap_binddn is set but ldap_bindpassword is empty"
        )
    conn = _connect(server, config.ldap_binddn, config.ldap_bindpassword)
    try:
        if not conn.bind():
            log.warning("LDAP bind as ldap_binddn refused: %s", conn.result.get("description"))
            raise ServiceUnavailable(
                f"{MISCONFIGURED}: the directory refused ldap_binddn and ldap_bindpassword"
            )
        template = config.ldap_searchfilter.strip() or DEFAULT_FILTER
        # Escaped so that a login like "*" or "a)(uid=*" matches only itself.
        search_filter = template.replace("%s", escape_filter_chars(login))
        mappings = config.ldap_mappings
        attributes = sorted({mappings[k] for k in ("mail", "uid", "cn") if mappings.get(k)})
        conn.search(
            config.ldap_searchdn,
            search_filter,
            search_scope=SUBTREE,
            attributes=attributes,
            size_limit=2,
        )
        if conn.result.get("result") not in SEARCH_OK:
            log.warning("LDAP search failed: %s", conn.result.get("description"))
            raise ServiceUnavailable(f"{MISCONFIGURED}: the search failed, check ldap_searchdn")
        found = [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
    except LDAPInvalidFilterError:
        raise ServiceUnavailable(
            f"{MISCONFIGURED}: ldap_searchfilter is not a valid filter"
        ) from None
    except LDAPException as exc:
        log.warning("LDAP search failed: %s", exc)
        raise ServiceUnavailable(UNAVAILABLE) from None
    finally:
        _close(conn)
    if not found:
        return None
    if len(found) > 1:
        log.warning("LDAP search for login %r returned more than one entry", login)
        raise NotAuthenticated(BAD_LOGIN)
    return DirectoryEntry(dn=found[0]["dn"], attributes=found[0].get("attributes") or {})


def _check_password(server: Server, dn: str, password: str) -> None:
    conn = _connect(server, dn, password)
    try:
        if not conn.bind():
            raise NotAuthenticated(BAD_LOGIN)
    except LDAPException as exc:
        log.warning("LDAP bind as %s failed: %s", dn, exc)
        raise ServiceUnavailable(UNAVAILABLE) from None
    finally:
        _close(conn)


def _close(conn: Connection) -> None:
    try:
        conn.unbind()
    except LDAPException:
        pass  # the answer is already in hand; a broken socket at goodbye changes nothing


def _first(attributes: Mapping[str, Any], name: str | None) -> str:
    value = attributes.get(name) if name else None
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip() if value is not None else ""


def _external_user(mappings: Mapping[str, str], entry: DirectoryEntry) -> User:
    username = _first(entry.attributes, mappings.get("uid")).lower()
    email = _first(entry.attributes, mappings.get("mail"))
    name = _first(entry.attributes, mappings.get("cn")) or username
    for key, value in (("uid", username), ("mail", email)):
        if not value:
            log.warning("LDAP entry %s has no %r attribute", entry.dn, mappings.get(key))
            raise ServiceUnavailable(
                f"{MISCONFIGURED}: the directory entry has no value for ldap_mappings.{key}"
            )
    by_name = _user_where(func.lower(User.username) == username)
    by_email = _user_where(func.lower(User.email) == email.lower())
    # The original refuses a directory login that would take over a local account.
    if any(u is not None and not u.external for u in (by_name, by_email)):
        raise NotAuthenticated(BAD_LOGIN)
    user = by_name or by_email
    if user is None:
        user = User(
            username=username,
            name=name,
            email=email,
            password="",
            external=True,
            admin=False,
            alert=False,
        )
        db.session.add(user)
    else:
        user.name = name
        # Another external user may hold this e-mail; the unique column must not break the login.
        if by_email is None or by_email is user:
            user.email = email
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent first login of the same person created the row a moment ago.
        db.session.rollback()
        user = _user_where(func.lower(User.username) == username)
        if user is None or not user.external:
            raise NotAuthenticated(BAD_LOGIN) from None
    return user


def _user_where(condition: Any) -> User | None:
    return db.session.scalar(select(User).where(condition))
