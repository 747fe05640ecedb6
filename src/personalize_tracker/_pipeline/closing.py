"""Flushing and closing a pipeline: ``flush()``, ``close()``, the flush at interpreter exit, and
delivery on the caller's thread (``sync=True``, and threads that cannot start at exit).

A flush forces out what is pending when it begins and waits for it (and for the batches already on
the wire); records tracked meanwhile fill their batches as usual, so a flush ends under steady
traffic. ``close()`` flushes within its timeout, then drains what is left into the spool (or fails
it with reason ``closed``) in one critical section, so that ``stats()`` balances at every moment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from .. import _lifecycle
from .._config import Options
from .._delivery.pool import SenderPool
from .._delivery.send import BatchSender
from .._failure import FailedEvent, FailureReason
from .._intake.admission import Admission
from .._intake.buffer import Batch, GroupBuffer
from .._intake.inbox import Inbox
from .._outcomes.keeper import SpoolKeeper
from .._outcomes.ledger import Ledger
from .._outcomes.report import Reporter
from .._outcomes.wire import Wire

__all__ = ["Closing"]

R = TypeVar("R")
K = TypeVar("K", bound=Hashable)

# Seconds close() waits past its timeout for sender threads interrupted in a retry wait (they
# record their batch within moments of being woken).
_JOIN_GRACE = 0.1


class _Closable(Protocol[K, R]):
    """The pipeline, as closing sees it (its parts are rebuilt in a forked child: read them
    through the pipeline, never keep them)."""

    options: Options
    name: str
    lock: threading.Lock
    idle: threading.Condition
    inbox: Inbox[R]
    buffer: GroupBuffer[K, R]
    admission: Admission
    pool: SenderPool[Batch[K, R]]
    sender: BatchSender[R, K]
    wire: Wire[Batch[K, R]]
    keeper: SpoolKeeper[R]
    ledger: Ledger
    reporter: Reporter[R]
    closed: bool
    one_call: bool
    stopping: bool
    aborting: bool

    def collect(self) -> None: ...

    def add(self, record: R) -> bool: ...

    def take_batch(self, force: bool = False) -> Batch[K, R] | None: ...

    def take_chore(self) -> Callable[[], None] | None: ...

    def deliver(
        self, batch: Batch[K, R], deadline: float | None = None, retry_waits: bool = True
    ) -> int: ...

    def in_own_process(self) -> bool: ...


class Closing(Generic[K, R]):
    """The flush, close and exit flush of one pipeline.

    Args:
        pipeline: the pipeline (see :class:`_Closable`).

    Attributes:
        running: a ``close()`` (or the exit flush) is under way on another live thread.
        finished: ``close()`` ended with nothing left under way: the pipeline is forgotten by
            the exit flush. Until then (a close interrupted by Ctrl-C, or one that returned at
            its timeout with calls still on the wire), a second ``close()`` or the exit flush
            finishes the work and accounts for every record.
    """

    @property
    def running(self) -> bool:
        """Whether another live thread is closing the pipeline now."""
        runner = self._runner
        return runner is not None and runner is not threading.current_thread() and runner.is_alive()

    def __init__(self, pipeline: _Closable[K, R]) -> None:
        self._p = pipeline
        self.finished = False
        # The thread running close() (or the exit flush) now, or None. A thread interrupted
        # between setting it and its ``try`` leaves itself here: stale for that thread (see
        # :attr:`running`), so its next close() or the exit flush still does the work.
        self._runner: threading.Thread | None = None

    # -- flush ------------------------------------------------------------------------------------

    def flush(self, timeout: float | None) -> bool:
        """Send what was pending when called; wait until it is delivered or failed.

        Returns:
            True if everything pending at the call was delivered or failed; False if the timeout
            passed first (the rest stays pending), or close() on another thread left records in
            the spool.
        """
        p = self._p
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with p.lock:
            p.collect()
            p.buffer.force_pending()
            # Batches already on the wire hold records pending now too: wait for them as well
            # (from here on, records read back from the spool are forced too).
            before = p.wire.begin_flush()
        try:
            if p.options.sync or not p.pool.started:
                # No sender threads (sync mode, or none started): deliver on this thread, all
                # of it (records read back from the spool meanwhile too: nobody else would);
                # each call ends by the deadline, and what is not delivered then stays pending.
                self.pump(force=True, deadline=deadline)
            with p.lock:
                p.pool.wake_all()
                done = p.idle.wait_for(
                    lambda: self._flushed(before),
                    None if deadline is None else max(0.0, deadline - time.monotonic()),
                )
                # close() on another thread may have ended the wait, leaving records spooled
                return done and not (p.stopping and p.keeper.spilling)
        finally:
            with p.lock:
                p.wire.end_flush()

    def _flushed(self, before: list[Batch[K, R]]) -> bool:
        """Whether everything a flush waits for is done (lock held): the records forced in the
        buffer, the batches holding such records or already on the wire when the flush began,
        and the spool (first in, first out). Once close() has drained the queue (to the spool,
        or as failures), only the calls still on the wire remain to wait for."""
        p = self._p
        if not p.wire.settled(before):
            return False
        if p.stopping:
            return True
        return not (p.keeper.spilling or p.buffer.forced)

    def pump(
        self,
        force: bool,
        deadline: float | None,
        max_batches: int | None = None,
        retry_waits: bool = True,
    ) -> None:
        """Deliver ready batches on the calling thread until none is ready, ``deadline`` passes,
        ``max_batches`` were sent, or a batch was deferred (queued again: see
        ``Pipeline.deliver``; ``retry_waits`` False makes one attempt per batch). While a
        coalescing kind's call is on the wire (another thread's), it waits for its end."""
        p = self._p
        sent = 0
        while (deadline is None or time.monotonic() < deadline) and (
            max_batches is None or sent < max_batches
        ):
            with p.lock:
                p.collect()
                chore = p.take_chore()
                batch = None if chore is not None else p.take_batch(force)
                if chore is None and batch is None and p.one_call and p.wire.count:
                    p.idle.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
                    continue  # its end notifies ``idle``
            if chore is not None:
                chore()
            elif batch is None:
                return
            else:
                sent += 1
                if p.deliver(batch, deadline, retry_waits):
                    return  # deferred: it would be taken again at once

    def start(self, seal: bool) -> None:
        """Begin a flush (``seal``: a close) without waiting: what is held is forced out and the
        senders woken; the ``flush()`` or ``close()`` that follows waits (see ``group``)."""
        p = self._p
        with p.lock:
            if seal:
                self._seal()
            p.collect()
            p.buffer.force_pending()
            p.pool.wake_all()

    # -- close ------------------------------------------------------------------------------------

    def _seal(self) -> bool:
        """Mark the pipeline closed and take the inbox in for the last time (lock held);
        False if it was closed already."""
        p = self._p
        if p.closed:
            return False
        p.closed = True
        p.inbox.seal(p.add, p.ledger.accepted)
        p.admission.wake_all()
        return True

    def close(self, timeout: float | None) -> None:
        """Deliver what is pending within ``timeout``, then stop (see ``Tracker.close``).

        Resumable: a close cut short (Ctrl-C), or one that returned with calls still on the
        wire, is finished by the next ``close()`` or by the exit flush. While another thread
        closes, this one waits for it, within ``timeout``.
        """
        p = self._p
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with p.lock:
            self._seal()
            if self.finished:
                return
            if self.running:  # another thread closes: wait for it
                p.idle.wait_for(
                    lambda: not self.running,
                    None if deadline is None else max(0.0, deadline - time.monotonic()),
                )
                return
            self._runner = threading.current_thread()
        try:
            self._shutdown(timeout)
        finally:
            with p.lock:
                self._runner = None
                p.idle.notify_all()

    def _shutdown(self, timeout: float | None) -> None:
        p = self._p
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        self._stop_waits_at(deadline)
        flushed = self.flush(timeout)
        if not flushed:
            p.sender.stop_waiting_at(time.monotonic())  # and any still waiting, now
        with p.lock:
            if not flushed:
                p.aborting = True  # senders take no new batch: what is left is drained here
            failed = self._drain_left()
            p.stopping = True
            p.pool.stop()
            p.admission.wake_all()
            p.idle.notify_all()  # a flush() on another thread re-checks: the queue is drained
        if failed:
            p.reporter.report(failed)
        # Senders interrupted in a retry wait record their batch (spooled, or failed with reason
        # closed) within moments: allow them _JOIN_GRACE seconds past the deadline. One still in
        # a call is left to finish; its batch stays pending until it does, and the spool stays
        # open for it until then.
        grace_until = None if deadline is None else max(deadline, time.monotonic()) + _JOIN_GRACE
        with p.lock:
            p.idle.wait_for(
                lambda: p.wire.count == 0 and p.keeper.refilling == 0,
                None if grace_until is None else max(0.0, grace_until - time.monotonic()),
            )
            spool = p.keeper.detach_if_idle(p.wire.count, force=True)
            if spool is None:
                p.keeper.close_later()
        p.pool.join(grace_until)
        if spool is not None:
            spool.close()  # what is left stays on disk, for the next process to deliver
        p.reporter.close()
        with p.lock:
            # Calls still on the wire keep the pipeline registered: if the process exits before
            # they end, the exit flush accounts for their records (spool, or reason closed).
            self.finished = p.wire.count == 0 and p.keeper.refilling == 0
        if self.finished:
            _lifecycle.unregister(p)

    def _stop_waits_at(self, deadline: float | None) -> None:
        """Make retry waits end at ``deadline`` (None: no limit), or at once when an earlier
        close already drained the queue: resuming it only waits for the calls it left on the
        wire, and starts no retry of theirs (their records go to the spool, or fail ``closed``)."""
        p = self._p
        p.sender.stop_waiting_at(time.monotonic() if p.stopping else deadline)

    def _drain_left(self) -> list[FailedEvent]:
        """Everything still in the buffer (the timeout passed) goes to the spool, or fails with
        reason ``closed``; counted in the caller's critical section (lock held). Returns the
        failures, for the caller to report once the lock is released."""
        p = self._p
        p.collect()  # the last time: records queued after this are retracted by their callers
        batches = p.buffer.drain()
        left = [r for batch in batches for r in batch.records]
        if not left:
            return []
        times = [t for batch in batches for t in batch.times]
        problem = None
        if p.keeper.spool is not None:
            try:
                kept, problem = p.keeper.spill(left, times if len(times) == len(left) else None)
            except BaseException:  # Ctrl-C mid-write: what is not on disk goes back, pending
                self._put_back(batches, p.keeper.interrupted_after)
                raise
            if problem is None:
                return []
            left = left[kept:]  # the first ones are on disk
        message = problem or "close() timed out before it was sent"
        failed = [FailedEvent(r, FailureReason.CLOSED, None, message) for r in left]
        p.ledger.fail(failed)
        return failed

    def _put_back(self, batches: list[Batch[K, R]], written: int) -> None:
        """After an interrupted spill of ``batches``: the records past the first ``written``
        go back to the buffer, pending, for the next close() or the exit flush (lock held)."""
        buffer = self._p.buffer
        for batch in batches:
            records, times = batch.records[written:], batch.times[written:]
            written = max(0, written - len(batch.records))
            buffer.requeue(batch.key, records, times if len(times) == len(records) else None)

    # -- exit -------------------------------------------------------------------------------------

    def exit_flush(self, deadline: float | None = None) -> None:
        """Flush at interpreter exit, until monotonic ``deadline`` (default: ``exit_timeout``
        seconds from now), starting no thread."""
        p = self._p
        if not p.in_own_process():
            return
        if deadline is None:
            deadline = time.monotonic() + p.options.exit_timeout
        with p.lock:
            self._seal()
            if self.finished:
                return
            other = self.running  # close() runs on another thread: it does the work
            if other:
                p.idle.wait_for(lambda: not self.running, max(0.0, deadline - time.monotonic()))
            else:
                self._runner = threading.current_thread()
        if not other:
            try:
                # Sender threads (daemons) may still run; either way this thread helps deliver,
                # since Python 3.12+ refuses to start threads at shutdown. Each call it makes
                # ends by the deadline (abandoned past it: see BatchSender.send).
                self._stop_waits_at(deadline)
                self.pump(force=True, deadline=deadline)
                self._shutdown(max(0.0, deadline - time.monotonic()))
            finally:
                with p.lock:
                    self._runner = None
        self._abandon_in_flight()

    def _abandon_in_flight(self) -> None:
        """At interpreter exit: account for batches whose call is still under way.

        Their sender threads die with the process, so they would vanish. They go to the spool
        (when it is still open) or fail with reason ``closed``; the call may in fact succeed, in
        which case the record arrives twice, harmlessly (same event ids).
        """
        p = self._p
        failed: list[FailedEvent] = []
        with p.lock:
            for batch in p.wire.abandon():
                times = batch.times if len(batch.times) == len(batch.records) else None
                kept = p.keeper.keep(batch.records, times)
                failed.extend(_unknown_outcome(batch.records[kept:], p.name))
            p.ledger.fail(failed)
            spool = p.keeper.detach_if_idle(p.wire.count)
        if spool is not None:
            spool.close()  # release the lock: the next process adopts what is left
        if failed:
            p.reporter.report(failed)


def _unknown_outcome(records: Sequence[Any], call: str) -> list[FailedEvent]:
    message = f"the interpreter exited while its {call} call was under way (outcome unknown)"
    return [FailedEvent(r, FailureReason.CLOSED, None, message) for r in records]
