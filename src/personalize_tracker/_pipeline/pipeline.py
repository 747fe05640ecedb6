"""The composition root: one pipeline builds the parts of a record's path and wires them together.

    record ─put()─▶ _intake: inbox → admission → buffer
           ─▶ _delivery: sender pool → one batch's send → transport
           ─▶ _outcomes: ledger, wire, reporter, spool keeper

The parts are plain objects; none of them imports another layer. The pipeline hands each the
callables and protocols it talks through (the inbox calls back ``_take_in`` / ``_nudge`` /
``_put_locked``; the pool sees the pipeline as its ``WorkSource``; the sender calls
``_count_request``), and owns the one lock that keeps ``stats()`` balanced: every change of where
a record is (inbox, buffer, wire, spool, an outcome) happens under it, in one critical section.

Generic over the record kind: a kind is a transport and a :class:`Codec` (its key function,
batch size, and encodings for the spool and the dead letters); ``events.event_pipeline``
composes the one for PutEvents. The flush, ``close()`` and the exit flush are in ``closing``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from .. import _lifecycle
from .._config import Options
from .._delivery.concurrency import gil_enabled
from .._delivery.pool import SenderPool
from .._delivery.ratelimit import AdaptiveRateLimiter
from .._delivery.retry import RetryPolicy
from .._delivery.send import BatchSender, DeliveryOutcome
from .._errors import TrackerClosedError
from .._failure import FailedEvent, FailureReason
from .._intake.admission import Admission
from .._intake.buffer import Batch, GroupBuffer
from .._intake.coalesce import Coalescer
from .._intake.inbox import Inbox
from .._outcomes.deadletter import DeadLetterWriter
from .._outcomes.keeper import SpoolKeeper
from .._outcomes.ledger import Ledger, TrackerStats
from .._outcomes.report import Reporter
from .._outcomes.wire import Wire
from ..typing import Transport
from .closing import Closing
from .codec import Codec, nothing
from .group import PipelineGroup
from .readback import Readback, defer_unsettled, times_of

__all__ = ["Codec", "Pipeline"]

R = TypeVar("R")
K = TypeVar("K", bound=Hashable)
_monotonic = time.monotonic
_getpid = os.getpid


def _adder(
    buffer: GroupBuffer[K, R], codec: Codec[R, K], on_replaced: Callable[[], None]
) -> Callable[[K, R], bool]:
    """How records enter the buffer: appended, or through a :class:`Coalescer` for a kind whose
    later record replaces a waiting one (``codec.identity``)."""
    if codec.identity is None:
        return buffer.add
    return Coalescer(buffer, codec.identity, on_replaced).add


def _buffer(
    codec: Codec[R, K], options: Options, limiter: AdaptiveRateLimiter | None
) -> GroupBuffer[K, R]:
    """The group buffer; for a kind whose records are coalesced (``codec.identity``) under a
    rate limit, gated by the limit's next free slot (see ``GroupBuffer.gate``). Its groups are
    handed to ``codec.watch``."""
    gate = None if codec.identity is None or limiter is None else limiter.wait_time
    buffer: GroupBuffer[K, R] = GroupBuffer(
        codec.batch_size,
        options.flush_interval,
        keep_times=options.max_event_age is not None,
        gate=gate,
    )
    if codec.watch is not None:
        codec.watch(buffer.groups)
    return buffer


class Pipeline(Generic[R, K]):
    """Accepts records, delivers them in batches through a transport, and accounts for each.

    Args:
        options: the checked options.
        transport: sends one batch of one group.
        codec: the record kind (see :class:`Codec`).
        on_failure: called with each group of failures (see ``Tracker``), or None to log them.
        name: the call's name in log lines (``"PutEvents"``).
        rebuild_transport: called in a forked child to replace the transport (a boto3 client
            must not cross a fork), or None to keep it.
        on_fork: called in a forked child before anything else is reset (e.g. to renew the
            event-id prefix and forget shared strings), or None.
        on_delivered: called with each batch's delivered records (lock released), or None.

    Raises:
        OSError: the spool (``options.spool_path``) cannot be opened.

    Attributes:
        put: queues a record (the inbox's lock-free path where it applies).
        closed: whether :meth:`close` (or the exit flush) began.
        one_call: a coalescing kind (``codec.identity``): one sender, no batch taken while one
            is on the wire; a later record of an id never lands before an earlier one's retry.
    """

    def __init__(
        self,
        options: Options,
        transport: Transport[R, K],
        codec: Codec[R, K],
        *,
        on_failure: Callable[[Sequence[FailedEvent]], None] | None = None,
        name: str = "PutEvents",
        rebuild_transport: Callable[[], Transport[R, K]] | None = None,
        on_fork: Callable[[], None] | None = None,
        on_delivered: Callable[[Sequence[R]], None] | None = None,
    ) -> None:
        self.options = options
        self._on_delivered = on_delivered
        self.transport = transport
        self.codec = codec
        self.name = name
        self._rebuild_transport = rebuild_transport
        self._on_fork = on_fork
        self.one_call = codec.identity is not None
        self.group: PipelineGroup | None = None  # its Tracker's pipelines (see group.py)
        dead_letters = (
            None
            if options.dead_letter_path is None
            else DeadLetterWriter(options.dead_letter_path, codec.letter)
        )
        self.reporter: Reporter[R] = Reporter(
            on_failure, dead_letters, options.max_queue_size, codec.record_id, codec.noun
        )
        # The inbox's lock-free path: not in sync mode, with a spool or an age limit (their
        # bookkeeping is per record), or without a GIL.
        self.direct = (
            not options.sync
            and options.spool_path is None
            and options.max_event_age is None
            and gil_enabled()
        )
        self.closed = False
        self._build(in_child=False)
        self.put: Callable[[R], None] = self.inbox.put if self.direct else self._put_locked
        self.closing: Closing[K, R] = Closing(self)
        self.readback: Readback[K, R] = Readback(self)
        _lifecycle.register(self.exit_flush, self.after_fork)

    def _build(self, in_child: bool) -> None:
        """(Re)build everything a process owns: the lock, the parts that hold records, the
        counters, the sender (a forked child starts empty)."""
        options, codec = self.options, self.codec
        self._pid = _getpid()
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)  # flush() and close() wait here
        limiter = (
            None
            if options.max_requests_per_second is None
            else AdaptiveRateLimiter(options.max_requests_per_second)
        )
        self.buffer: GroupBuffer[K, R] = _buffer(codec, options, limiter)
        self.inbox: Inbox[R] = Inbox(
            options.max_queue_size,
            self.buffer,
            self._take_in,
            self._nudge,
            self._put_locked,
            codec.batch_size,
        )
        self.keeper: SpoolKeeper[R] = SpoolKeeper(
            options.spool_path, codec.encode, codec.decode, in_child
        )
        self.ledger = Ledger(recovered=self.keeper.recovered)
        self._add = _adder(self.buffer, codec, self.ledger.coalesce)
        self.wire: Wire[Batch[K, R]] = Wire()
        self.admission = Admission(
            self.lock,
            options.max_queue_size,
            options.overflow,
            options.block_timeout,
            self._held,
            not options.sync,
            self._start_senders_locked,
        )
        workers = 1 if self.one_call else options.max_workers
        self.pool: SenderPool[Batch[K, R]] = SenderPool(self.lock, workers, self, self.inbox)
        policy = RetryPolicy(
            max_attempts=options.max_attempts,
            max_backoff=options.max_backoff,
            deadline=options.retry_deadline,
            max_event_age=options.max_event_age,
        )
        self.sender: BatchSender[R, K] = BatchSender(
            self.transport, policy, self._count_request, limiter, self.name
        )
        self.stopping = False  # close() drained the queue: senders take what is left and end
        self.aborting = False  # close() ran out of time: no new batch is taken

    # -- accepting (intake) -----------------------------------------------------------------------

    def _held(self) -> int:
        """Records held in memory (lock held): the buffer, the inbox, being read back."""
        return self.buffer.size + self.inbox.size + self.keeper.refilling

    def add(self, record: R) -> bool:
        """Put ``record`` in its group (lock held; see ``_adder``); whether a batch is ready."""
        return self._add(self.codec.key(record), record)

    def collect(self) -> None:
        """Take the inbox into the buffer, oldest first (lock held)."""
        self.inbox.drain(self.add, self.ledger.accepted)

    def _collect_and_wake(self) -> None:
        """:meth:`collect`, waking a sender if a batch became ready (lock held)."""
        if self.inbox.drain(self.add, self.ledger.accepted):
            self.pool.wake_if_room()

    def _take_in(self, record: R) -> None:
        """The inbox's producer found no watcher (or the inbox closing): take the inbox in on
        the caller's thread, and start the senders or ask one to collect.

        Raises:
            TrackerClosedError: the pipeline closed before the record was taken in (it is taken
                back out of the inbox: never counted, never sent).
        """
        start: list[threading.Thread] = []
        with self.lock:
            if self.closed and self.inbox.retract(record):
                raise TrackerClosedError("track() called on a closed Tracker")
            self._collect_and_wake()
            if not self.pool.started and not self.closed:
                start = self.pool.plan()
            elif not self.inbox.watchers and not self.inbox.wanted and not self.closed:
                # Records are coming: have a sender collect the next ones.
                self.inbox.wanted = True
                self.pool.wake()
        if start:
            self.pool.launch(start)

    def _nudge(self) -> None:
        """A batch's worth waits in the inbox: wake a sender to take it in and send what is
        ready now, rather than at its next collection. The caller (a web request, often at its
        end) then leaves the sender its idle time."""
        with self.lock:
            self.pool.wake_if_room()

    def _put_locked(self, record: R) -> None:
        """Queue ``record`` under the lock: the admission decides (drop, block, spill).

        Raises:
            TrackerClosedError: the pipeline closed (also while the caller waited for room;
                the record is then not counted).
        """
        options = self.options
        if options.sync and options.overflow == "block" and self._held() >= options.max_queue_size:
            # Room, on this thread: one attempt, within block_timeout.
            self.closing.pump(
                force=True,
                deadline=_monotonic() + options.block_timeout,
                max_batches=1,
                retry_waits=False,
            )
        problem = None
        start: list[threading.Thread] = []
        # ``with``, not acquire() then ``try``: an exception delivered between the two
        # (Ctrl-C, a gevent timeout) would leave the lock held and every thread deadlocked.
        with self.lock:
            if self.closed:
                raise TrackerClosedError("track() called on a closed Tracker")
            self.collect()  # records queued earlier go first
            keeper = self.keeper
            verdict = self.admission.decide(
                keeper.spool is not None, keeper.spilling, lambda: self.closed
            )
            if verdict == "spill":
                problem = keeper.spill([record], [_monotonic()])[1]
            elif verdict == "drop":
                if self.closed:  # close() ran while we waited: the record was never accepted
                    raise TrackerClosedError("the Tracker closed while track() waited for room")
                problem = f"the queue holds max_queue_size={options.max_queue_size} events"
            elif self.add(record):
                self.pool.wake_if_room()
            # Counted here, with its outcome decided, so that stats() always balances.
            self.ledger.accepted()
            if problem is not None:
                self.ledger.drop()
            elif not self.pool.started and not options.sync:
                start = self.pool.plan()  # started below, once the lock is released
        if start:
            self.pool.launch(start)
        if problem is not None:
            self.reporter.report([FailedEvent(record, FailureReason.QUEUE_FULL, None, problem)])
        elif options.sync:
            # One attempt per ready batch: what fails and may be retried stays pending for the
            # next flush(), whose timeout bounds the retries (no track() waits through them).
            self.closing.pump(force=False, deadline=None, retry_waits=False)

    def _start_senders_locked(self) -> None:
        """Before a caller waits for room (lock held): make sure senders run to make it."""
        if not self.pool.started:
            self.pool.launch(self.pool.plan(), locked=True)

    # -- the pool's work source (lock held unless said) -------------------------------------------

    def has_ready(self, now: float) -> bool:
        """Whether a batch is ready (everything is, once closing)."""
        return not (self.one_call and self.wire.count) and self.buffer.has_ready(now, self.stopping)

    def seconds_until_due(self, now: float) -> float | None:
        """Seconds until the next batch is ready, or None when nothing is (see ``one_call``)."""
        return None if self.one_call and self.wire.count else self.buffer.seconds_until_due(now)

    def take_batch(self, force: bool = False) -> Batch[K, R] | None:
        """The next ready batch (every group with ``force`` or once closing), now on the wire."""
        if self.aborting or (self.one_call and self.wire.count):
            return None
        batch = self.buffer.take(_monotonic(), force or self.stopping)
        if batch is not None:
            key = batch.key
            if self.codec.forget is not None and key not in self.buffer.groups:
                self.codec.forget(key)  # the group emptied
            self.wire.taken(batch)
            self.admission.freed(len(batch.records))
        return batch

    def take_chore(self) -> Callable[[], None] | None:
        """Reading the spool back, when it holds records and the buffer has room."""
        count = self.keeper.due(self.buffer.size, self.options.max_queue_size, self.stopping)
        return None if not count else lambda: self.readback.refill(count)

    # -- delivery and outcomes --------------------------------------------------------------------

    def deliver(
        self, batch: Batch[K, R], deadline: float | None = None, retry_waits: bool = True
    ) -> int:
        """Send ``batch`` and record its outcome, on the caller's thread (sync mode, the exit
        flush; sender threads do the same through :meth:`send` and :meth:`settle`). Every
        record is accounted for, even when a ``BaseException`` (Ctrl-C) cuts the send short.
        ``deadline`` and ``retry_waits``: see ``BatchSender.send``. Returns the records deferred
        (queued again: not delivered by ``deadline``, or one attempt failed and may be retried).
        """
        outcome: DeliveryOutcome[R] = DeliveryOutcome()
        try:
            self.sender.send(
                batch.key,
                batch.records,
                batch.times or None,
                outcome,
                deadline=deadline,
                retry_waits=retry_waits,
            )
        except BaseException:
            defer_unsettled(batch, outcome)  # Ctrl-C on the caller's thread: still pending
            with self.lock:
                after = self.settle(batch, outcome, None)
            after()
            raise
        with self.lock:
            after = self.settle(batch, outcome, None)
        after()
        return len(outcome.deferred)

    def send(self, batch: Batch[K, R], outcome: DeliveryOutcome[R]) -> None:
        """Send ``batch`` (no lock held), filling in ``outcome``: retries, the poison split and
        the age limit included. Raises only a ``BaseException`` that cut it short."""
        self.sender.send(batch.key, batch.records, batch.times or None, outcome)

    def settle(
        self,
        batch: Batch[K, R],
        outcome: DeliveryOutcome[R],
        interrupted: BaseException | None,
    ) -> Callable[[], None]:
        """Record what became of ``batch`` (lock held), in the same critical section as the
        caller's own bookkeeping; return what is left to do once the lock is released: close a
        spool ``close()`` left open for this call, and report the failures.

        ``interrupted``: what cut the send short; the records it left unsettled fail with
        reason ``error`` and its class name.
        """
        failed = outcome.failed
        if interrupted is not None:
            failed = failed + [
                FailedEvent(r, FailureReason.ERROR, type(interrupted).__name__, str(interrupted))
                for r in outcome.unsettled(batch.records)
            ]
        if not self.wire.finished(batch):
            return nothing  # abandoned at interpreter exit: already accounted for
        self.ledger.delivered += outcome.delivered
        if outcome.deferred:
            failed = failed + self.readback.defer(batch.key, outcome, batch.forced)
        # Batches cut short by close() stay pending, on disk, for the next process.
        closed = [f for f in failed if f.reason is FailureReason.CLOSED]
        kept = self.keeper.keep([f.event for f in closed], times_of(closed, batch)) if closed else 0
        if kept:  # exactly the ones written are on disk; the rest (a full disk) fail
            failed = [f for f in failed if f.reason is not FailureReason.CLOSED] + closed[kept:]
        self.ledger.fail(failed)
        wakes = self.wire.wakes_flush(batch, self.buffer.forced)
        if wakes or self.one_call or (self.stopping and not self.wire.count):
            self.idle.notify_all()  # one_call: a pump on another thread may wait for its end
        if self.one_call:
            self.pool.wake()  # the next batch may be taken
        spool = self.keeper.detach_if_idle(self.wire.count)
        on_delivered = self._on_delivered
        delivered = outcome.delivered_events if on_delivered is not None else None
        if spool is None and not failed and not delivered:
            return nothing

        def after() -> None:
            if delivered and on_delivered is not None:
                on_delivered(delivered)
            if spool is not None:
                spool.close()  # the last call close() left running has ended
            if failed:
                self.reporter.report(failed)

        return after

    def _count_request(self, retry: bool) -> None:
        with self.lock:
            self.ledger.request(retry)

    # -- the facade's calls -----------------------------------------------------------------------

    def pending(self) -> int:
        """Records not yet delivered, failed or dropped (lock held)."""
        keeper = self.keeper
        return self.buffer.size + self.wire.count + keeper.refilling + keeper.spooled

    def stats(self) -> TrackerStats:
        """A consistent snapshot of the counters (see ``TrackerStats``). Records waiting in the
        inbox are taken in first (so they count as tracked and pending), waking a sender if a
        batch became ready."""
        with self.lock:
            self._collect_and_wake()  # records in the inbox count as tracked and pending
            return self.ledger.stats(
                pending=self.pending(),
                spooled=self.keeper.spooled + self.keeper.refilling,
                senders=0 if self.options.sync or self.closed else self.pool.senders,
                outage=self.sender.health.outage,
            )

    def flush(self, timeout: float | None) -> bool:
        """See ``Tracker.flush`` (closed or not: ``Tracker`` checks)."""
        return self.closing.flush(timeout)

    def close(self, timeout: float | None) -> None:
        """See ``Tracker.close``: final and idempotent."""
        self.closing.close(timeout)

    def exit_flush(self) -> None:
        """At interpreter exit: flush for at most ``exit_timeout`` (with its ``group``)."""
        (self.closing.exit_flush if self.group is None else self.group.exit_flush)()

    def in_own_process(self) -> bool:
        """Whether this is the process the pipeline was built (or last reset) in."""
        return self._pid == _getpid()

    def check_fork(self) -> None:
        """Reset this process's state if it is a forked child that ran no fork hooks."""
        if self._pid != _getpid():
            self.after_fork()

    def after_fork(self) -> None:
        """In a forked child: start empty, with a new lock, no threads and a new transport.

        The parent's pending records stay the parent's: the child never sends them. Counters
        start at zero, so the child's stats describe the child's records only.
        """
        if self._pid == _getpid():
            return
        if self._on_fork is not None:
            self._on_fork()
        if self._rebuild_transport is not None:
            self.transport = self._rebuild_transport()
        self.keeper.abandon()  # the parent's spool stays the parent's
        self.reporter.after_fork()
        self._build(in_child=True)
        self.put = self.inbox.put if self.direct else self._put_locked
