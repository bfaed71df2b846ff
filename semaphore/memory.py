"""Keeping long-lived processes' memory from growing after big answers (glibc's allocator).

Python returns freed memory to its allocator, but glibc keeps what a thread used in that
thread's arena (up to 8 per core) and hands little back to the system. A web process whose
threads each stream a million-line log once would keep several times the log's size. Two
remedies, both no-ops where glibc is not the C library: fewer arenas for the whole process,
and a trim after each big streamed answer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
_M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h
_ARENAS = 2


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


_LIBC = _libc()


def limit_arenas() -> None:
    """At most two malloc arenas in this process and the processes it forks after this."""
    if _LIBC is not None and not _LIBC.mallopt(_M_ARENA_MAX, _ARENAS):
        log.warning("mallopt(M_ARENA_MAX) refused; memory may grow after big answers")


def give_back() -> None:
    """Return the allocator's free memory to the system (after a big answer)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
