"""The inbox: records put without a lock, oldest first, until a sender takes them into the buffer.

``Tracker.track()`` is on its caller's request path; taking the pipeline's lock there and
grouping the event by session would cost the caller. So the common case only appends to a deque
(atomic under the GIL), and the senders, which wait for work anyway, take the inbox into the
buffer off the request path.

**The one ordering rule.** A producer appends, *then* reads :attr:`Inbox.watchers`. A watcher
(a sender due to look at the inbox soon) lowers the count with the lock held, *then* takes the
inbox in before it sleeps. So a record appended while its producer saw ``watchers > 0`` is taken
in by the watcher that lowers the count; a producer that saw no watcher (or a closing inbox)
takes the inbox in itself, on its own thread. Only lock holders take records out; producers only
append, so a record's position never moves backwards under a lock holder.

Who watches is the sender pool's business (``_delivery.pool``): a sender collecting in short
waits while records keep coming, the sender timing calls under way, and every sender in a call
(it looks when the call ends). The pipeline hands the pool this inbox's :meth:`watch` and
:meth:`unwatch` through its ``WorkSource``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["Inbox"]

R = TypeVar("R")
_monotonic = time.monotonic

# Seconds records are said to keep coming after the inbox was last found holding some: the
# senders keep collecting for that long.
_LINGER = 0.1


class _Held(Protocol):
    """The buffer the inbox feeds, as far as the inbox looks at it: how many records it holds."""

    size: int


class Inbox(Generic[R]):
    """Records put by producers without a lock, until a lock holder takes them in.

    Args:
        capacity: records the inbox and the buffer hold together at most (``max_queue_size``);
            past it :meth:`put` hands the record to ``locked_put`` (which drops, blocks or
            spills it). Producers racing each other may pass it by one record each.
        buffer: the buffer it feeds (read for its ``size`` only).
        take_in: called on the producer's thread when no sender watches, or the inbox closed:
            takes the inbox in under the lock (and raises if the record arrived too late).
        nudge: called when ``nudge_at`` records wait: wake a sender now.
        locked_put: the lock-taking path, for a record that does not fit.
        nudge_at: the number of waiting records that calls ``nudge`` (a batch's worth).

    Attributes:
        watchers: senders due to take the inbox in before they next sleep uncounted.
        wanted: a producer found no watcher: the next waiting sender should collect.
        closing: the pipeline is closing: producers take the inbox in themselves (and find out).
        sealed: the inbox was taken in for the last time; nothing more is taken.
        seen: monotonic time the inbox was last taken in holding records.
    """

    __slots__ = (
        "_buffer",
        "_items",
        "_locked_put",
        "_nudge",
        "_nudge_at",
        "_take_in",
        "capacity",
        "closing",
        "sealed",
        "seen",
        "wanted",
        "watchers",
    )

    def __init__(
        self,
        capacity: int,
        buffer: _Held,
        take_in: Callable[[R], None],
        nudge: Callable[[], None],
        locked_put: Callable[[R], None],
        nudge_at: int,
    ) -> None:
        self.capacity = capacity
        self._buffer = buffer
        self._take_in = take_in
        self._nudge = nudge
        self._locked_put = locked_put
        self._nudge_at = nudge_at
        self._items: deque[R] = deque()
        self.watchers = 0
        self.wanted = False
        self.closing = False
        self.sealed = False
        self.seen = 0.0

    # -- producers (no lock) ----------------------------------------------------------------------

    def put(self, record: R) -> None:
        """Queue ``record`` (the hot path of ``track()``: no lock unless it must).

        Raises:
            TrackerClosedError: from ``take_in`` or ``locked_put``, when the pipeline closed
                before the record was accepted (it is then not counted).
        """
        items = self._items
        if len(items) + self._buffer.size < self.capacity:
            items.append(record)
            # The ordering rule: the append above comes before these reads.
            if not (self.watchers or self.wanted) or self.closing:
                self._take_in(record)
            elif len(items) == self._nudge_at:
                self._nudge()
            return
        self._locked_put(record)

    # -- lock holders -----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Records waiting in the inbox."""
        return len(self._items)

    def busy(self, now: float) -> bool:
        """Whether records keep coming: a producer asked for a collector, or the inbox held
        records when last taken in, less than ``_LINGER`` seconds before monotonic ``now``."""
        return self.wanted or now - self.seen < _LINGER

    def watch(self, clear_wanted: bool = False) -> None:
        """Count the caller as a watcher (lock held); ``clear_wanted``: it answers a producer's
        call for a collector."""
        self.watchers += 1
        if clear_wanted:
            self.wanted = False

    def unwatch(self) -> None:
        """Stop counting the caller (lock held). It must take the inbox in before it sleeps."""
        self.watchers -= 1

    def drain(self, add: Callable[[R], bool], taken: Callable[[int], None]) -> bool:
        """Take every record in, oldest first (lock held): ``add(record)`` puts one in the
        buffer and says whether a batch became ready. Return whether one did.

        ``taken`` is called with the number of records taken, even if ``add`` raised part way
        (those records are in the buffer and must be counted). Nothing is taken once sealed.
        """
        items = self._items
        if not items or self.sealed:
            return False
        ready = False
        count = 0
        popleft = items.popleft
        try:
            while items:  # producers may append meanwhile: taken too
                if add(popleft()):
                    ready = True
                count += 1
        finally:
            taken(count)
        self.seen = _monotonic()
        return ready

    def seal(self, add: Callable[[R], bool], taken: Callable[[int], None]) -> None:
        """The pipeline closes (lock held): take the inbox in for the last time. A producer that
        saw the inbox open appended before this; a later one finds its record still here,
        :meth:`retract` s it and raises."""
        self.closing = True
        self.drain(add, taken)
        self.sealed = True

    def retract(self, record: R) -> bool:
        """Remove ``record`` if no one took it in yet (lock held); whether it was there."""
        for position, queued in enumerate(list(self._items)):
            if queued is record:
                del self._items[position]
                return True
        return False

    def after_fork(self) -> None:
        """In a forked child: empty and open (the parent's records stay the parent's)."""
        self._items = deque()
        self.watchers = 0
        self.wanted = False
        self.closing = False
        self.sealed = False
        self.seen = 0.0
