"""Change counters: every commit that writes a project's rows counts up that project's counter
in Redis, so that an answer computed from those rows can be kept until the next change.

- An ORM object with a `project_id` counts up its project; one without (a user's name shows in
  task lists, a template's environments) counts up the counter every project shares, unless it
  is never part of a project's answers (QUIET).
- An API token counts up a scope of its own (TOKENS): no project's answer shows tokens, but
  who signs in with them is kept (services/auth/token_cache.py).
- A bulk UPDATE / DELETE / INSERT counts up the shared counter, as its rows are not known,
  unless the statement names its project (`in_project`).
- The counting runs after the commit. A change rolled back is still counted, at the session's
  next commit: counting too much costs a recomputation, too little a stale answer.
- A reader takes the counters before it reads the rows (services/project_cache.py), so an
  answer is never labelled newer than what it read.
- The counters live beside a random epoch: a Redis that restarts or is flushed gets a new one,
  so counters that start again from zero can never match an answer kept from before.
- With the counting, the commit publishes which scopes it counted up: a process that keeps
  answers counts those notices itself and reads no counter per request (queue.change_feed).

A Redis error never fails the writer: it is logged, and readers keep answers for a short time
only (project_cache.MAX_AGE).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import redis
from redis.client import Pipeline
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from semaphore import broker
from semaphore.models import (
    APIToken,
    IntegrationDelivery,
    IntegrationDeliveryOutcome,
    Option,
    RecoveryCode,
    Runner,
    TaskOutputChunk,
    UserTotp,
)
from semaphore.models import (
    Session as LoginSession,
)
from semaphore.queue import change_feed, commit_hooks

log = logging.getLogger(__name__)

# Rows no kept answer is computed from, written often (output, sign-ins, deliveries, the
# runners' polls).
QUIET = (
    TaskOutputChunk,
    LoginSession,
    UserTotp,
    RecoveryCode,
    Option,
    IntegrationDelivery,
    IntegrationDeliveryOutcome,
    Runner,
)
_PROJECT_OPTION = "semaphore_changed_project"
_PENDING = "semaphore_changed_scopes"
_SHARED = change_feed.SHARED_SCOPE
# Rows counted in a scope of their own rather than their project's or the shared one.
_OWN_SCOPES = {APIToken: change_feed.TOKENS_SCOPE}


def epoch_key() -> str:
    return broker.key("changes", "epoch")


def counter_key(scope: int | str) -> str:
    """The counter of a project (its id) or the shared one ("all")."""
    return broker.key("changes", scope)


def in_project(statement: Any, project_id: int) -> Any:
    """A bulk statement that writes rows of one project only: it counts up that project's
    counter instead of the shared one."""
    return statement.execution_options(**{_PROJECT_OPTION: project_id})


def stamp(project_id: int) -> tuple[bytes, ...] | None:
    """The project's counters as they stand (None when Redis cannot say)."""
    try:
        connection = broker.connection()
        found = connection.mget(epoch_key(), counter_key(_SHARED), counter_key(project_id))
        if found[0] is None:
            connection.set(epoch_key(), secrets.token_hex(8), nx=True)
            found = connection.mget(epoch_key(), counter_key(_SHARED), counter_key(project_id))
    except redis.RedisError as exc:
        log.warning("change counters unreadable (%s); answers are computed afresh", exc)
        return None
    return tuple(found)


def _note(session: Session, scope: int | str) -> None:
    session.info.setdefault(_PENDING, set()).add(scope)


def _after_flush(session: Session, _context: Any) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, QUIET):
            continue
        own = _OWN_SCOPES.get(type(row))
        # What is loaded only: a deleted row cannot be read again.
        project_id = vars(row).get("project_id")
        _note(session, own or (project_id if isinstance(project_id, int) else _SHARED))


def _bulk_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, QUIET):
        return
    own = _OWN_SCOPES.get(mapper.class_) if mapper is not None else None
    project_id = state.execution_options.get(_PROJECT_OPTION)
    _note(state.session, own or (project_id if isinstance(project_id, int) else _SHARED))


def _pending_scopes(session: Session) -> set[int | str] | None:
    return session.info.pop(_PENDING, None)


def _count_up(pipeline: Pipeline, scopes: set[int | str]) -> None:
    for scope in scopes:
        pipeline.incr(counter_key(scope))
    pipeline.publish(change_feed.NOTICES, change_feed.notice(scopes))


def install() -> None:
    """Hook every ORM session (once per process): counted up after each commit, before the
    commit's live messages, in the same round trip (queue.commit_hooks)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _bulk_statement)
    commit_hooks.add_part(
        0,
        _pending_scopes,
        _count_up,
        "change counters not counted up; kept answers expire soon",
    )
