"""Coalescing: a record that replaces an earlier one of the same id still waiting in the buffer.

An Items, Users or Actions dataset keeps the last record written for an id, so two updates of
one item before its batch leaves need only the second to be sent: the PutItems quota is spent on
distinct items. The later record takes the earlier one's place in its group (so it leaves no
later than the earlier one would have); the earlier one is dropped with reason ``coalesced``
(counted, not reported: nothing was lost). A record on the wire (or read back from the spool)
is never replaced: both are sent, in order (the pipeline of a coalescing kind has one call on
the wire at a time, so the later one's call starts after the earlier one's ended); one put back
after a failed attempt, still undelivered, may be.

A plain data structure, like the buffer: the pipeline holds its lock around every call.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from .buffer import GroupBuffer

__all__ = ["Coalescer"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
_MIN_PRUNE = 1024  # entries kept before the first pruning


class Coalescer(Generic[K, T]):
    """Adds records to a buffer, replacing a held record of the same identity.

    Args:
        buffer: the pipeline's buffer.
        identity: a record's identity within its group (an item's ``item_id``); records of
            equal identity and group key replace one another.
        on_replaced: called (lock held) each time a record was replaced: it counts the
            earlier one as dropped, reason ``coalesced``.

    Attributes:
        held: (group key, identity) → (where in the buffer, the record) of the records added
            last for each identity. An entry outlives its record's stay in the buffer (the
            buffer checks a record is still there before replacing it); entries of records
            that left are pruned when the table doubles, so it stays within twice what the
            buffer holds (and at least 1024 entries).
    """

    def __init__(
        self,
        buffer: GroupBuffer[K, T],
        identity: Callable[[T], Hashable],
        on_replaced: Callable[[], None],
    ) -> None:
        self.buffer = buffer
        self.identity = identity
        self.on_replaced = on_replaced
        self.held: dict[tuple[K, Hashable], tuple[tuple[object, int], T]] = {}
        self._prune_at = _MIN_PRUNE

    def add(self, key: K, record: T) -> bool:
        """Add ``record`` to group ``key``, in the place of a held record of its identity
        (then ``on_replaced`` is called); return whether a batch became ready."""
        slot = (key, self.identity(record))
        found = self.held.get(slot)
        if found is not None:
            where, old = found
            if self.buffer.replace(key, where, old, record):
                self.held[slot] = (where, record)
                self.on_replaced()
                return False
        ready = self.buffer.add(key, record)
        self.held[slot] = (self.buffer.position(key), record)
        if len(self.held) > self._prune_at:
            self._prune()
        return ready

    def _prune(self) -> None:
        """Forget the records that left the buffer (taken, or drained by ``close()``)."""
        holds = self.buffer.holds
        self.held = {
            slot: found for slot, found in self.held.items() if holds(slot[0], found[0], found[1])
        }
        self._prune_at = max(_MIN_PRUNE, 2 * len(self.held))
