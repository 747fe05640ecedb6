"""Records going back into the buffer: the spool's read-back (a chore sender threads do when
the buffer has room), and records whose call was deferred (a caller's deadline came first).

Read-back records group with the records around them as fresh arrivals do (a group waits
``flush_interval`` for company, so batches leave full), while their age still counts from
``track()`` (``max_event_age``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from .._delivery.pool import SenderPool
from .._delivery.send import DeliveryOutcome
from .._failure import FailedEvent, FailureReason
from .._intake.buffer import Batch, GroupBuffer
from .._outcomes.keeper import SpoolKeeper
from .._outcomes.ledger import Ledger
from .._outcomes.report import Reporter
from .._outcomes.wire import Wire
from .codec import Codec

__all__ = ["Readback", "defer_unsettled", "times_of"]

R = TypeVar("R")
K = TypeVar("K", bound=Hashable)
_monotonic = time.monotonic


def _unkept(records: Sequence[Any]) -> list[FailedEvent]:
    """Records read back from the spool as close() began, that the spool could not take back."""
    message = "read back from the spool as close() began; the spool could not take it back"
    return [FailedEvent(r, FailureReason.CLOSED, None, message) for r in records]


def defer_unsettled(batch: Batch[Any, Any], outcome: DeliveryOutcome[Any]) -> None:
    """After a ``BaseException`` (Ctrl-C) on the caller's thread: the records of ``batch`` not
    settled yet stay pending (their call may have reached the service; if so, a later one
    repeats the event ids, harmlessly)."""
    times = dict(zip(map(id, batch.records), batch.times, strict=False))
    for record in outcome.unsettled(batch.records):
        outcome.deferred.append(record)
        if id(record) in times:
            outcome.deferred_times.append(times[id(record)])


def times_of(failed: list[FailedEvent], batch: Batch[Any, Any]) -> list[float] | None:
    """When each of ``failed`` (records of ``batch``) was tracked, or None when unknown."""
    if not batch.times:
        return None
    times = dict(zip(map(id, batch.records), batch.times, strict=False))
    found = [times.get(id(f.event)) for f in failed]
    return None if None in found else [t for t in found if t is not None]


class _Readable(Protocol[K, R]):
    """The pipeline, as the read-back sees it (read its parts through it: a fork rebuilds them)."""

    lock: threading.Lock
    idle: threading.Condition
    buffer: GroupBuffer[K, R]
    keeper: SpoolKeeper[R]
    ledger: Ledger
    wire: Wire[Batch[K, R]]
    pool: SenderPool[Batch[K, R]]
    reporter: Reporter[R]
    stopping: bool

    @property
    def codec(self) -> Codec[R, K]: ...


class Readback(Generic[K, R]):
    """The spool's read-back of one pipeline.

    Args:
        pipeline: the pipeline (see :class:`_Readable`).
    """

    def __init__(self, pipeline: _Readable[K, R]) -> None:
        self._p = pipeline

    def refill(self, count: int) -> None:
        """Read ``count`` reserved records back from the spool into the buffer (no lock held)."""
        p = self._p
        records: list[R] = []
        walls: list[float] = []
        try:
            records, walls = p.keeper.read(count)
        finally:
            # Whatever happened (even KeyboardInterrupt), the reservation is released and every
            # reserved record is accounted for: in the buffer, back on disk, or failed.
            now_mono, now_wall = _monotonic(), time.time()
            failed: list[FailedEvent] = []
            with p.lock:
                p.keeper.settle(count)
                p.ledger.fail_unread(count - len(records))  # unreadable lines, each logged
                if p.stopping and records:  # close() began meanwhile: they stay on disk
                    # (no sender takes them now: the rest fail); their age still counts from
                    # track()
                    kept = p.keeper.keep(records, [now_mono - (now_wall - w) for w in walls])
                    failed = _unkept(records[kept:])
                    p.ledger.fail(failed)
                    records, walls = [], []
                key, add = p.codec.key, p.buffer.add
                for record, wall in zip(records, walls, strict=True):
                    # Grouped as a fresh arrival (so that read-back records fill batches as
                    # new ones do), aged from its track() (for max_event_age).
                    add(key(record), record, now_mono, now_mono - (now_wall - wall))
                if records and p.wire.flush_waiters and not p.keeper.spooled:
                    # The last of the spool, and a flush waits for it: force it out now (while
                    # more is on disk, the next read-backs fill these groups first).
                    p.buffer.force_pending()
                p.pool.wake_all()
                if p.wire.flush_waiters or (p.stopping and p.wire.count == 0):
                    p.idle.notify_all()
                spool = p.keeper.detach_if_idle(p.wire.count)
            if spool is not None:
                spool.close()
            if failed:
                p.reporter.report(failed)

    def defer(self, key: K, outcome: DeliveryOutcome[R], forced: bool = False) -> list[FailedEvent]:
        """Deferred records (lock held): back at the front of their group while the pipeline
        runs; once it stops, kept in the spool or failed with reason ``closed`` (returned)."""
        p = self._p
        records, times = outcome.deferred, outcome.deferred_times
        if not p.stopping:
            p.buffer.requeue(key, records, times if len(times) == len(records) else None, forced)
            return []
        kept = p.keeper.keep(records, times if len(times) == len(records) else None)
        message = "the deadline of close() or of the exit flush came while it was being sent"
        return [FailedEvent(r, FailureReason.CLOSED, None, message) for r in records[kept:]]
