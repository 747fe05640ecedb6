"""Event ids: cheap, unique across processes and forks.

``uuid4()`` costs an ``os.urandom`` call per event; an id here costs a counter step and a string
concatenation. The per-process prefix is renewed in a forked child (``os.register_at_fork``, or
:func:`renew_event_ids_after_fork` for forks that run no Python hooks), so parent and child never
hand out the same id.
"""

from __future__ import annotations

import base64
import os
from itertools import chain, count, repeat

__all__ = ["event_ids", "new_event_id", "renew_event_ids_after_fork"]

_BLOCK = 4096
_ENDINGS = tuple(map("%03x".__mod__, range(_BLOCK)))


class _EventIdSource:
    """Cheap unique event ids: a random per-process prefix and a counter.

    ``uuid4()`` costs an ``os.urandom`` call per event; this costs a counter step and a format.
    The prefix is renewed in a forked child, so parent and child never hand out the same id.
    """

    def __init__(self) -> None:
        self._renew()

    def _renew(self) -> None:
        # 64 random bits in 13 lowercase base32 characters (16 in hex): 3 bytes less per event,
        # and no "-" or "_" that could start an id.
        self.prefix = base64.b32encode(os.urandom(8)).decode().rstrip("=").lower() + "-"
        # prefix + the counter in hex. Blocks of 4096 ids share "prefix + counter // 4096 in
        # hex", and each id appends one of the 4096 three-digit endings made once: a string
        # concatenation per id, ~50 ns less than formatting the counter (~190 ns; an f-string
        # with a format spec ~240). Counting from block 1, the ids are exactly
        # f"{prefix}{n:x}" for n = 4096, 4097, ...: increasing, no leading zero. Every step is
        # a C call (no Python code), so next() on it is atomic under the GIL.
        blocks = map(f"{self.prefix}%x".__mod__, count(1))
        self.ids = chain.from_iterable(
            map(map, repeat(str.__add__), map(repeat, blocks, repeat(_BLOCK)), repeat(_ENDINGS))
        )
        self.pid = os.getpid()

    def renew_after_fork(self) -> None:
        """Renew the prefix if this process forked since it was drawn (idempotent)."""
        if self.pid != os.getpid():
            self._renew()

    def next(self) -> str:
        return next(self.ids)


#: The process's event id source: ``next(event_ids.ids)`` is the next id.
event_ids = _EventIdSource()
if hasattr(os, "register_at_fork"):  # pragma: no branch - always on POSIX
    os.register_at_fork(after_in_child=event_ids.renew_after_fork)


def renew_event_ids_after_fork() -> None:
    """Draw a new event-id prefix if this process forked since the last one (idempotent).

    ``os.register_at_fork`` does it for ordinary forks; the Tracker calls this when its
    process-id check finds a fork that ran no Python hooks (uWSGI), before drawing an id.
    """
    event_ids.renew_after_fork()


def new_event_id() -> str:
    """Return a new event id (str, 15+ characters), unique across processes and forks."""
    return event_ids.next()
