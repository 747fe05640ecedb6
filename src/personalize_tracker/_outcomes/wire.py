"""The wire: batches taken for delivery whose outcome is not recorded yet, and the flushes that
wait for them.

A flush waits for the records pending when it began: those still in the buffer (forced out, see
``_intake.buffer``) and those already on the wire. It is woken when a batch it waits for ends,
not at every call's end.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Generic, Protocol, TypeVar

__all__ = ["Wire"]


class _Batch(Protocol):
    """A batch as the wire sees it."""

    @property
    def records(self) -> Sized:
        """The batch's records."""

    @property
    def forced(self) -> bool:
        """Whether it holds records a flush waits for."""


B = TypeVar("B", bound=_Batch)


class Wire(Generic[B]):
    """Batches on the wire, by identity. Not thread-safe: the pipeline holds its lock.

    Attributes:
        count: records in batches on the wire.
        flush_waiters: threads in a flush now.
    """

    __slots__ = ("_awaited", "_batches", "count", "flush_waiters")

    def __init__(self) -> None:
        self._batches: dict[int, B] = {}
        # ids of batches a flush waits for that were on the wire when it began: their end (or
        # a forced batch's) wakes the flush, not every call's (a hint: an id may be reused
        # later, which costs a spurious wake-up only).
        self._awaited: set[int] = set()
        self.count = 0
        self.flush_waiters = 0

    def taken(self, batch: B) -> None:
        """``batch`` goes on the wire."""
        self._batches[id(batch)] = batch
        self.count += len(batch.records)

    def finished(self, batch: B) -> bool:
        """``batch``'s call ended; False when it was abandoned already (see :meth:`abandon`)."""
        if self._batches.pop(id(batch), None) is None:
            return False
        self.count -= len(batch.records)
        return True

    def wakes_flush(self, batch: B, buffer_forced: int) -> bool:
        """Whether the end of ``batch`` may end a waiting flush: a flush waits for it, or it
        was the last forced batch (``buffer_forced``: forced records left in the buffer)."""
        awaited = False
        if self._awaited:
            awaited = id(batch) in self._awaited
            self._awaited.discard(id(batch))
        return self.flush_waiters > 0 and (awaited or (batch.forced and not buffer_forced))

    def abandon(self) -> list[B]:
        """Forget every batch on the wire (at interpreter exit: their threads die with the
        process); return them, for the caller to account for."""
        batches = list(self._batches.values())
        self._batches.clear()
        self.count = 0
        return batches

    # -- flushes ----------------------------------------------------------------------------------

    def begin_flush(self) -> list[B]:
        """A flush begins: return the batches on the wire now (it waits for them too)."""
        self.flush_waiters += 1
        self._awaited.update(self._batches)
        return list(self._batches.values())

    def end_flush(self) -> None:
        """A flush ends (done or not)."""
        self.flush_waiters -= 1

    def settled(self, before: list[B]) -> bool:
        """Whether none of ``before`` (batches on the wire when a flush began) and no forced
        batch is still on the wire."""
        batches = self._batches
        if any(batches.get(id(batch)) is batch for batch in before):
            return False
        return not any(batch.forced for batch in batches.values())
