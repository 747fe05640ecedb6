"""The sender pool: threads that take ready batches from the pipeline and deliver them.

Threads start lazily, as they are needed, and stay until the pipeline stops. How many deliver at
once adapts to where a call's time goes (``concurrency``): one against a near endpoint, about 30
with the service 20 ms away. A waiting sender has one of three roles:

- the **watcher**, while calls are under way: it wakes every measuring window, so that calls that
  hang or sleep in a retry backoff do not hold back the batches behind them;
- the **collector**, while records keep coming through the inbox: it wakes every
  ``_COLLECT_INTERVAL`` seconds to take the inbox in (one sender at a time);
- otherwise it sleeps until woken, or until the next batch is due.

The watcher, the collector and every sender in a call count as the inbox's watchers (see
``_intake.inbox``: the one ordering rule); the pool raises and lowers that count on the inbox it
is handed (a :class:`~personalize_tracker.typing.Watched`), and takes the inbox in (the
pipeline's ``collect``, through its :class:`~personalize_tracker.typing.WorkSource`) after
lowering it, before it sleeps.

Everything but the calls themselves runs with the pipeline's lock held.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..typing import Watched, WorkSource
from .concurrency import SenderConcurrency
from .send import DeliveryOutcome

__all__ = ["SenderPool"]

J = TypeVar("J")
_monotonic = time.monotonic
_thread_time = time.thread_time

# Seconds at most a collecting sender leaves records in the inbox while they keep coming: a
# session's full batch leaves about this late at most, when a sender is free (a sender in a call
# takes the inbox in when the call ends).
_COLLECT_INTERVAL = 0.02
# Seconds after which a sender still busy with one batch (a hung connection, a retry backoff)
# no longer counts against the number of senders allowed to deliver at once.
_STALLED = 0.5


class SenderPool(Generic[J]):
    """Sender threads delivering the batches of one pipeline.

    Args:
        lock: the pipeline's lock: every method but :meth:`launch` and :meth:`join` is called
            with it held, and the pool's condition waits on it.
        maximum: sender threads at most (``max_workers``, >= 1).
        source: the pipeline, as the pool sees it.
        inbox: the inbox the senders watch.
        name: the threads' name prefix.
        adaptive: adapt how many senders deliver at once (default: see ``SenderConcurrency``).

    Attributes:
        concurrency: the controller of how many senders deliver at once.
        stopping: the pipeline stops: senders finish what they took and end.
    """

    def __init__(
        self,
        lock: threading.Lock,
        maximum: int,
        source: WorkSource[J],
        inbox: Watched,
        *,
        name: str = "personalize-tracker-sender",
        adaptive: bool | None = None,
    ) -> None:
        self.maximum = maximum
        self.name = name
        self._source = source
        self._inbox = inbox
        self._adaptive = adaptive
        self._reset(lock)

    def _reset(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._wake = threading.Condition(lock)
        self.concurrency = SenderConcurrency(self.maximum, adaptive=self._adaptive)
        self._threads: list[threading.Thread] = []
        # When each batch being delivered by a sender thread was taken, by id(batch).
        self._sending: dict[int, float] = {}
        self._watcher: threading.Thread | None = None  # the sender timing calls under way
        self._collector: threading.Thread | None = None  # the sender in a collecting wait
        self.stopping = False
        self._pid = os.getpid()

    # -- the pipeline's side (lock held) ----------------------------------------------------------

    @property
    def senders(self) -> int:
        """Senders allowed to deliver at once now."""
        return self.concurrency.limit

    @property
    def started(self) -> bool:
        """Whether sender threads exist (planned or running)."""
        return bool(self._threads)

    def threads(self) -> list[threading.Thread]:
        """The sender threads (a copy)."""
        return list(self._threads)

    def wake(self, count: int = 1) -> None:
        """Wake up to ``count`` waiting senders."""
        self._wake.notify(count)

    def wake_all(self) -> None:
        """Wake every waiting sender (a flush, a stop)."""
        self._wake.notify_all()

    def wake_if_room(self) -> None:
        """A batch became ready: wake a sender if fewer than allowed are delivering."""
        if len(self._sending) < self.concurrency.limit:
            self._wake.notify()

    def plan(self) -> list[threading.Thread]:
        """The sender threads to start now: one per sender allowed to deliver, plus a spare
        that watches calls under way, up to ``maximum`` in all. They count as started at once;
        the caller starts them with :meth:`launch`, after releasing the lock if it can
        (``Thread.start()`` waits for the new thread to run)."""
        wanted = min(self.maximum, self.concurrency.limit + 1)
        planned = []
        while len(self._threads) < wanted:
            thread = threading.Thread(
                target=self._run, name=f"{self.name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            planned.append(thread)
        return planned

    def stop(self) -> None:
        """Senders take what is left and end."""
        self.stopping = True
        self._wake.notify_all()

    def after_fork(self, lock: threading.Lock) -> None:
        """In a forked child: no threads (they did not survive the fork), a new condition on
        the child's lock, a fresh controller."""
        self._reset(lock)

    # -- no lock held -----------------------------------------------------------------------------

    def launch(self, threads: list[threading.Thread], locked: bool = False) -> None:
        """Start planned threads (``locked``: the caller holds the lock). At interpreter
        shutdown Python refuses new threads: those are forgotten, and records wait for the exit
        flush, which delivers on the exiting thread."""
        for n, thread in enumerate(threads):
            try:
                thread.start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                if locked:
                    self._forget(threads[n:])
                else:
                    with self._lock:
                        self._forget(threads[n:])
                return

    def _forget(self, unstarted: list[threading.Thread]) -> None:
        """Forget planned threads that could not start (lock held)."""
        for thread in unstarted:
            if thread in self._threads:
                self._threads.remove(thread)

    def join(self, until: float | None) -> None:
        """Wait for the sender threads to end, until monotonic ``until`` at most."""
        for thread in self.threads():
            # (a thread planned but not started yet cannot be joined: it sees the stop itself)
            if thread is not threading.current_thread() and thread.is_alive():
                thread.join(None if until is None else max(0.0, until - _monotonic()))

    # -- the sender threads -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                job, batch, start = self._next()
                if start:
                    self.launch(start)
                if job is not None:
                    job()
                elif batch is not None:
                    self._deliver(batch)
                elif not start:
                    return
        except BaseException:
            # Something escaped (on_failure calling sys.exit(), say): its batch is accounted
            # for already. The thread ends, and a new one takes its place.
            me = threading.current_thread()
            with self._lock:
                if me in self._threads:
                    self._threads.remove(me)
                replace = not self.stopping and self._pid == os.getpid()
                start = self.plan() if replace else []
            self.launch(start)
            raise

    def _deliver(self, batch: J) -> None:
        """Deliver a batch taken by :meth:`_next`. Its outcome is recorded in the same critical
        section as the pool's own bookkeeping (the batch leaves the senders' count, the inbox
        is taken in, the controller sees the call's wall and CPU time, waits for the rate limit
        or between retries left out), and failures are reported only after that: a slow
        ``on_failure`` or log handler holds no sending slot and is not taken for network time.
        """
        source = self._source
        outcome: DeliveryOutcome[Any] = DeliveryOutcome()
        wall, cpu = _monotonic(), _thread_time()
        interrupted: BaseException | None = None
        try:
            source.send(batch, outcome)
        except BaseException as exc:
            interrupted = exc
            raise
        finally:
            start: list[threading.Thread] = []
            with self._lock:
                after = source.settle(batch, outcome, interrupted)
                self._sending.pop(id(batch), None)
                self._inbox.unwatch()  # lowered before its next look (the ordering rule)
                if interrupted is None:
                    source.collect()  # so that the controller sees the batches waiting
                    start = self._adapt(_monotonic() - wall - outcome.waited, _thread_time() - cpu)
            self.launch(start)
            after()

    def _adapt(self, wall: float | None, cpu: float = 0.0) -> list[threading.Thread]:
        """Feed the controller: a finished call's ``wall`` and ``cpu`` seconds, or ``wall=None``
        from the watcher. At a window's end the number of senders allowed may move: waiting
        senders are woken, and the threads to start are returned (to :meth:`launch`)."""
        concurrency = self.concurrency
        if not (concurrency.due() if wall is None else concurrency.observe(wall, cpu)):
            return []
        before = concurrency.limit
        now = _monotonic()
        stalled = sum(1 for since in self._sending.values() if now - since > _STALLED)
        after = concurrency.adjust(self._source.has_ready(now), stalled)
        if after <= before or self.stopping:
            return []
        self._wake.notify(after - before)
        return self.plan()

    def _next(self) -> tuple[Callable[[], None] | None, J | None, list[threading.Thread]]:
        """Block until there is a chore to do, a batch to send, or threads to start;
        ``(None, None, [])`` means stop.

        A batch is taken only while fewer senders than allowed are delivering. While calls are
        under way, one waiting sender (the watcher) looks at the clock every window and feeds
        the controller; while records keep coming, one (the collector) takes the inbox in every
        ``_COLLECT_INTERVAL`` seconds; the others sleep until woken or until a batch is due.
        """
        me = threading.current_thread()
        source = self._source
        with self._lock:
            try:
                while True:
                    if self._pid != os.getpid():
                        return None, None, []  # a forked child's copy of this thread's state
                    source.collect()  # watchers lower their count (below) before this look
                    collect = self._inbox.busy(_monotonic())
                    chore = source.take_chore()
                    if chore is not None:
                        return chore, None, []
                    batch = self._take()
                    if batch is not None:
                        return None, batch, []
                    if self.stopping:
                        return None, None, []
                    start = self._wait(me, collect)
                    if start:
                        return None, None, start
            finally:
                self._leave(me)

    def _take(self) -> J | None:
        """A ready batch, if fewer senders than allowed are delivering; the sender counts as
        busy, and as an inbox watcher (it looks when the call ends)."""
        limit = self.concurrency.limit
        sending = self._sending
        if len(sending) >= limit:
            return None
        batch = self._source.take_batch()
        if batch is None:
            return None
        now = _monotonic()
        sending[id(batch)] = now
        self._inbox.watch(False)
        if self._watcher is None or (len(sending) < limit and self._source.has_ready(now)):
            self._wake.notify()  # wake another sender: to watch this call, or to send more
        return batch

    def _wait(self, me: threading.Thread, collect: bool) -> list[threading.Thread]:
        """Wait once, in the role that falls to ``me``; return threads to start, if any."""
        source, inbox = self._source, self._inbox
        if self._sending and self._watcher in (None, me):
            self._watcher = me
            inbox.watch(True)  # it wakes every window anyway
            try:
                self._wake.wait(self.concurrency.window)
            finally:
                inbox.unwatch()
            source.collect()  # so that the controller sees the batches waiting there
            return self._adapt(None)
        if self._watcher is me:
            self._watcher = None  # nothing under way to watch any more
        # No room (others are sending): sleep until woken. Else until the next batch is due.
        due = (
            None
            if len(self._sending) >= self.concurrency.limit
            else source.seconds_until_due(_monotonic())
        )
        if not collect or self._collector not in (None, me):
            # One sender collects at a time: the others sleep, uncounted.
            if self._collector is me:
                self._collector = None
            self._wake.wait(due)
            return []
        self._collector = me
        inbox.watch(True)
        try:
            self._wake.wait(_COLLECT_INTERVAL if due is None else min(due, _COLLECT_INTERVAL))
        finally:
            inbox.unwatch()
        return []

    def _leave(self, me: threading.Thread) -> None:
        """``me`` stops waiting (with work, threads to start, or to stop): hand its roles on."""
        if self._collector is me:
            # While records keep coming, another waiting sender takes the collecting over now.
            self._collector = None
            if not self.stopping and self._inbox.busy(_monotonic()):
                self._wake.notify()
        if self._watcher is me:
            # Another waiting sender takes the watch over while calls are still under way.
            self._watcher = None
            if self._sending:
                self._wake.notify()
