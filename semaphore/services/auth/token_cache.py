"""Who a bearer token signs in, kept in this process until anything it was read from changes.

API clients send the same token on every request, and reading its owner (with, on project
routes, the project and the owner's role in it) was a quarter of a kept list's cost under load
(issue 17). What that statement read is kept here with the changes this process has counted
(queue/change_feed.py), taken before the read, and used only while they still match:

- a token expired, renamed or deleted counts up the TOKENS scope;
- a user changed or deleted (an admin flag, a password) counts up the shared scope, as does a
  project renamed or deleted;
- a membership added, removed or given another role counts up its project.

A token past its expiry time is refused by the clock, without any change. Without Redis (or
while the subscription is being made again) nothing is kept; and every MAX_AGE seconds the
token is read again in any case, a safety net for a write that reached the database but whose
notice never reached Redis. Only valid tokens are kept, so an unknown token always asks the
database. Sessions (browser cookies) are not kept: their activity is written as they are used.

What is kept is a detached copy; each request gets its own instance in its own database session
(`Session.merge(load=False)`, SQLAlchemy's way to bring cached objects back without SQL), so a
request may change, refresh or lazy-load it as if it had been read.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from semaphore.extensions import db
from semaphore.models import APIToken, Project, User
from semaphore.models.user import past_expiry
from semaphore.queue import change_feed
from semaphore.services import project_cache

MAX_AGE = 5.0
MAX_ENTRIES = 4096
_IMMUTABLE = (str, int, float, bool, datetime, bytes)

Row = TypeVar("Row", User, Project)


@dataclass(frozen=True)
class _Kept:
    stamp: tuple[int, ...]
    kept_at: float
    expires: datetime | None
    user: User
    project: Project | None
    role: str | None


_lock = threading.Lock()
_kept: OrderedDict[tuple, _Kept] = OrderedDict()


def stamp(project_id: int | None) -> tuple[int, ...] | None:
    """What a sign-in with a token reads depends on, as counted now (None: keep nothing).
    Taken before the read, so that a change during it makes the kept copy stale at once."""
    return change_feed.local_stamp(project_id, change_feed.TOKENS_SCOPE)


def signed_in(
    token_hash: str, project_id: int | None
) -> tuple[User, Project | None, str | None] | None:
    """The token's owner, and on a project route the project and the owner's role in it, as
    kept, in this request's database session; None unless a kept copy is still current."""
    current = stamp(project_id)
    if current is None:
        return None
    key = (project_cache.app_id(), token_hash, project_id)
    with _lock:
        kept = _kept.get(key)
        if kept is None:
            return None
        if kept.stamp != current or time.monotonic() - kept.kept_at >= MAX_AGE:
            del _kept[key]
            return None
        _kept.move_to_end(key)
    if past_expiry(kept.expires):
        return None
    project = db.session.merge(kept.project, load=False) if kept.project is not None else None
    return db.session.merge(kept.user, load=False), project, kept.role


def keep(
    token_hash: str,
    project_id: int | None,
    taken: tuple[int, ...] | None,
    token: APIToken,
    user: User,
    project: Project | None,
    role: str | None,
) -> None:
    """Keep what the sign-in statement read for a valid token, labelled with the stamp
    taken before it (nothing without one)."""
    user_copy = _detached_copy(user)
    project_copy = _detached_copy(project) if project is not None else None
    if taken is None or user_copy is None or (project is not None and project_copy is None):
        return
    kept = _Kept(taken, time.monotonic(), token.expires, user_copy, project_copy, role)
    with _lock:
        _kept[(project_cache.app_id(), token_hash, project_id)] = kept
        while len(_kept) > MAX_ENTRIES:
            _kept.popitem(last=False)


def clear() -> None:
    """Forget every kept sign-in (tests that count statements)."""
    with _lock:
        _kept.clear()


def _detached_copy(row: Row) -> Row | None:
    # The columns as loaded, nothing else: the request's own object is never shared, and a
    # copy with no relationships loaded merges without reaching into other rows. Merging
    # shares the values themselves, so only rows of immutable values are kept (None: a value
    # a request could change in place).
    mapper = sa_inspect(row).mapper
    copy = mapper.class_manager.new_instance()
    loaded = vars(row)
    for column in mapper.column_attrs:
        if column.key in loaded:
            value = loaded[column.key]
            if value is not None and not isinstance(value, _IMMUTABLE):
                return None
            set_committed_value(copy, column.key, value)
    make_transient_to_detached(copy)
    return copy
