"""Answers kept in this process until their project changes (issue 17: a list costs its bytes).

A big list (1,000 templates with their last tasks) costs tens of milliseconds to read and write
out, and is asked for far more often than it changes. Its written answer is kept here with the
project's changes as this process has counted them before the rows were read (queue/change_feed.py:
no round trip), and served while they still match. After MAX_AGE seconds it is computed again,
a safety net for a change whose notice never reached Redis; meanwhile the aged answer is still
served. Without Redis nothing is kept. Who may see the answer is checked by the caller on
every request, before it asks here; only answers that are the same for every reader are kept.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import current_app

from semaphore.extensions import db
from semaphore.queue import change_feed

MAX_AGE = 30.0
# Per process; a gunicorn worker idles at about 76 MB (target 100).
MAX_BYTES = 8 * 1024 * 1024

_lock = threading.Lock()
_kept: OrderedDict[tuple, tuple[tuple, float, bytes]] = OrderedDict()
_size = [0]
_computing: dict[tuple, threading.Lock] = {}


def app_id() -> str:
    """This app's own key: what one app (one database) keeps is never served by another in
    the same process."""
    return current_app.extensions.setdefault("semaphore_cache_id", uuid.uuid4().hex)


def project_answer(
    project_id: int, key: tuple[Hashable, ...], compute: Callable[[], bytes]
) -> bytes:
    """The kept answer for (project, key) if the project has not changed since, else `compute()`'s
    (kept for the next caller)."""
    stamp = change_feed.local_stamp(project_id)
    if stamp is None:
        return compute()
    full_key = (app_id(), project_id, *key)
    kept, fresh = _kept_for(full_key, stamp)
    if fresh:
        return kept
    # One thread computes an answer; the others asking for it meanwhile wait and take it
    # (sixteen requests arriving as the answer changes would otherwise each compute it). An
    # answer only past MAX_AGE, its project unchanged, is served meanwhile instead: waiting for
    # it would stall every reader of a busy list once per MAX_AGE.
    computing = _computing.setdefault(full_key, threading.Lock())
    if not computing.acquire(blocking=kept is None):
        return kept
    try:
        kept, fresh = _kept_for(full_key, stamp)
        if fresh:
            return kept
        # The rows must be read after the counters. SQLite keeps the snapshot of a read
        # transaction from its first statement (this request's sign-in check): it ends here.
        db.session.commit()
        began = time.monotonic()
        body = compute()
        _keep(full_key, (stamp, began, body))
    finally:
        computing.release()
    _computing.pop(full_key, None)
    return body


def _kept_for(key: tuple, stamp: tuple) -> tuple[bytes | None, bool]:
    """The answer kept for the key at this stamp (None if none or its project changed since), and
    whether it is younger than MAX_AGE."""
    with _lock:
        kept = _kept.get(key)
        if kept is None or kept[0] != stamp:
            return None, False
        _kept.move_to_end(key)
        return kept[2], time.monotonic() - kept[1] < MAX_AGE


def _keep(key: tuple, entry: tuple[tuple, float, bytes]) -> None:
    size = len(entry[2])
    if size > MAX_BYTES // 2:
        return
    with _lock:
        previous = _kept.pop(key, None)
        if previous is not None:
            _size[0] -= len(previous[2])
        _kept[key] = entry
        _size[0] += size
        while _size[0] > MAX_BYTES:
            _, dropped = _kept.popitem(last=False)
            _size[0] -= len(dropped[2])


def clear() -> None:
    """Forget every kept answer (tests that count statements)."""
    with _lock:
        _kept.clear()
        _size[0] = 0
