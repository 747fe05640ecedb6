"""The sender pool against a fake work source: threads, the number of batches in flight, chores,
the inbox watchers' count, a sender that dies, and stopping. No sleeping: every wait is on a
condition, with a timeout."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from personalize_tracker._delivery.pool import SenderPool

TIMEOUT = 5.0


class FakeBatch:
    """A batch; delivering it waits for ``gate`` and then raises ``raises`` (each when set)."""

    def __init__(
        self,
        name: str,
        gate: threading.Event | None = None,
        raises: BaseException | None = None,
    ) -> None:
        self.name = name
        self.gate = gate
        self.raises = raises

    def __repr__(self) -> str:
        return f"FakeBatch({self.name!r})"


class FakeSource:
    """The pipeline as the pool sees it, and its inbox (``watch``, ``unwatch``, ``busy``).

    Every method but ``send`` (and the chores, and what ``settle`` returns) must be called with
    ``lock`` held; violations of the contract are collected in ``errors`` (asserting inside a
    sender thread would only kill it). ``changed`` is a condition on the same lock, notified at
    every call. ``report_gate``, when set, holds the report of a batch's failures (what
    ``settle`` returns) until it opens.
    """

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.changed = threading.Condition(lock)
        self.errors: list[str] = []
        self.batches: collections.deque[FakeBatch] = collections.deque()
        self.chores: collections.deque[Callable[[], None]] = collections.deque()
        self.keep_coming = False  # what busy() answers
        self.due_at: float | None = None  # a batch held back until then (see hold_until)
        self.held: FakeBatch | None = None
        # the inbox watchers: per thread, the kinds of its open watch() calls (True: waiting)
        self.watches: dict[int, list[bool]] = collections.defaultdict(list)
        self.watchers = 0
        self.min_watchers = 0
        self.waiting_watchers = 0  # threads between watch(True) and unwatch()
        self.max_waiting_watchers = 0
        self.watch_true_calls = 0
        self.collects = 0
        self.must_collect: set[int] = set()  # threads that unwatched and have not collected yet
        # deliveries
        self.running = 0
        self.max_running = 0
        self.ran: list[FakeBatch] = []  # deliveries begun, in order
        self.done: list[FakeBatch] = []  # deliveries ended (raising or not)
        self.run_threads: dict[str, threading.Thread] = {}
        self.settled: list[tuple[FakeBatch, BaseException | None]] = []
        self.reported: list[FakeBatch] = []
        self.report_gate: threading.Event | None = None

    # -- helpers for the test (lock held) ------------------------------------------------------

    def add(self, *batches: FakeBatch) -> None:
        self.batches.extend(batches)

    def hold_until(self, batch: FakeBatch, due_at: float) -> None:
        """``batch`` becomes ready at monotonic ``due_at`` (seconds_until_due says when)."""
        self.held, self.due_at = batch, due_at

    def wait_for(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    # -- the WorkSource protocol --------------------------------------------------------------

    def _check(self, name: str) -> int:
        if not self.lock.locked():
            self.errors.append(f"{name} called without the lock")
        me = threading.get_ident()
        if me in self.must_collect and name != "collect":
            self.errors.append(f"{name} called after unwatch() and before collect()")
        self.changed.notify_all()
        return me

    def collect(self) -> None:
        me = self._check("collect")
        self.must_collect.discard(me)
        self.collects += 1

    def busy(self, now: float) -> bool:  # (the inbox's, as the pool sees it)
        self._check("busy")
        return self.keep_coming

    def watch(self, clear_wanted: bool = False) -> None:
        me = self._check("watch")
        self.watches[me].append(clear_wanted)
        self.watchers += 1
        if clear_wanted:
            self.watch_true_calls += 1
            self.waiting_watchers += 1
            self.max_waiting_watchers = max(self.max_waiting_watchers, self.waiting_watchers)

    def unwatch(self) -> None:
        me = self._check("unwatch")
        if not self.watches[me]:
            self.errors.append("unwatch() without watch() on this thread")
            return
        if self.watches[me].pop():
            self.waiting_watchers -= 1
        self.watchers -= 1
        self.min_watchers = min(self.min_watchers, self.watchers)
        self.must_collect.add(me)

    def take_chore(self) -> Callable[[], None] | None:
        self._check("take_chore")
        return self.chores.popleft() if self.chores else None

    def _release_held(self, now: float) -> None:
        if self.held is not None and self.due_at is not None and now >= self.due_at:
            self.batches.append(self.held)
            self.held = self.due_at = None

    def take_batch(self) -> FakeBatch | None:
        self._check("take_batch")
        self._release_held(time.monotonic())
        return self.batches.popleft() if self.batches else None

    def has_ready(self, now: float) -> bool:
        self._check("has_ready")
        self._release_held(now)
        return bool(self.batches)

    def seconds_until_due(self, now: float) -> float | None:
        self._check("seconds_until_due")
        if self.batches:
            return 0.0
        return None if self.due_at is None else max(0.0, self.due_at - now)

    def send(self, batch: FakeBatch, outcome: Any) -> None:
        # With a plain Lock, a caller holding it would make this time out (not deadlock).
        if not self.lock.acquire(timeout=TIMEOUT):
            self.errors.append("send called with the lock held")
            return
        try:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.ran.append(batch)
            self.run_threads[batch.name] = threading.current_thread()
            self.changed.notify_all()
        finally:
            self.lock.release()
        try:
            if batch.gate is not None and not batch.gate.wait(TIMEOUT):
                self.errors.append(f"the gate of {batch.name} never opened")
            if batch.raises is not None:
                raise batch.raises
        finally:
            with self.changed:
                self.running -= 1
                self.done.append(batch)
                self.changed.notify_all()

    def settle(
        self, batch: FakeBatch, outcome: Any, interrupted: BaseException | None
    ) -> Callable[[], None]:
        self._check("settle")
        self.settled.append((batch, interrupted))

        def report() -> None:  # like reporting failures: no lock held, may be slow
            if self.report_gate is not None and not self.report_gate.wait(TIMEOUT):
                self.errors.append(f"the report gate of {batch.name} never opened")
            with self.changed:
                self.reported.append(batch)
                self.changed.notify_all()

        return report


class Harness:
    """A pool, its source and its lock; :meth:`close` stops and joins (every test's teardown)."""

    def __init__(self, maximum: int, limit: int | None = None) -> None:
        self.lock = threading.Lock()
        self.source = FakeSource(self.lock)
        self.pool: SenderPool[FakeBatch] = SenderPool(
            self.lock, maximum, self.source, self.source, name="test-sender", adaptive=False
        )
        self.gates: list[threading.Event] = []
        if limit is not None:
            with self.lock:  # as if the controller had chosen it
                self.pool.concurrency.limit = limit

    def gate(self) -> threading.Event:
        gate = threading.Event()
        self.gates.append(gate)
        return gate

    def start(self) -> list[threading.Thread]:
        with self.lock:
            threads = self.pool.plan()
        self.pool.launch(threads)
        return threads

    def add(self, *batches: FakeBatch) -> None:
        with self.lock:
            self.source.add(*batches)
            self.pool.wake_all()

    def stop(self) -> None:
        for gate in self.gates:
            gate.set()
        if self.source.report_gate is not None:
            self.source.report_gate.set()
        with self.lock:
            self.pool.stop()
        self.pool.join(time.monotonic() + TIMEOUT)

    def alive(self) -> list[threading.Thread]:
        with self.lock:
            threads = self.pool.threads()
        return [t for t in threads if t.is_alive()]


@pytest.fixture
def harness() -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(maximum: int, limit: int | None = None) -> Harness:
        made.append(Harness(maximum, limit))
        return made[-1]

    yield make
    for h in made:
        h.stop()


# ---------------------------------------------------------------------------------------------


def test_threads_start_only_when_planned_and_launched(harness: Callable[..., Harness]) -> None:
    h = harness(4, limit=2)
    with h.lock:
        h.source.add(FakeBatch("a"))
        h.pool.wake_all()  # nobody to wake yet
        assert not h.pool.started
        assert h.pool.threads() == []
        threads = h.pool.plan()
        # one per sender allowed to deliver, plus a spare: counted at once, not yet running
        assert len(threads) == 3
        assert h.pool.started
        assert h.pool.threads() == threads
        assert not any(t.is_alive() for t in threads)
        assert h.pool.plan() == []  # planned already
    assert h.source.ran == []
    h.pool.launch(threads)
    assert h.source.wait_for(lambda: len(h.source.done) == 1)
    assert h.source.run_threads["a"] in threads
    assert h.source.run_threads["a"] is not threading.current_thread()
    assert h.source.errors == []


def test_plan_never_exceeds_maximum(harness: Callable[..., Harness]) -> None:
    h = harness(2)  # not adaptive: the limit is the maximum, and no spare fits
    with h.lock:
        threads = h.pool.plan()
    assert len(threads) == 2
    h.pool.launch(threads)


def test_at_most_limit_batches_run_at_once(harness: Callable[..., Harness]) -> None:
    h = harness(4, limit=2)
    gate = h.gate()
    h.add(*(FakeBatch(f"b{n}", gate) for n in range(6)))
    h.start()
    source = h.source
    assert source.wait_for(lambda: source.running == 2)
    # the spare sender does not take a third batch while two are in flight
    assert not source.wait_for(lambda: source.running > 2, timeout=0.2)
    assert len(source.batches) == 4
    gate.set()
    assert source.wait_for(lambda: len(source.done) == 6)
    assert source.max_running == 2
    assert [b.name for b in source.ran] == [f"b{n}" for n in range(6)]  # taken in order
    assert source.errors == []


def test_a_batch_is_settled_with_the_senders_bookkeeping_and_reported_without_a_slot(
    harness: Callable[..., Harness],
) -> None:
    # The outcome is recorded under the lock before the failures are reported: a slow report
    # (on_failure, a log handler) holds no sending slot, so with one slot another sender
    # delivers the next batch while the first report still runs.
    h = harness(2, limit=1)
    source = h.source
    source.report_gate = threading.Event()
    h.add(FakeBatch("a"))
    h.start()
    assert source.wait_for(lambda: [b.name for b, _ in source.settled] == ["a"])
    assert source.reported == []  # its report is held
    h.add(FakeBatch("b"))
    assert source.wait_for(lambda: [b.name for b in source.done] == ["a", "b"])
    assert [b.name for b, interrupted in source.settled] == ["a", "b"]
    source.report_gate.set()
    assert source.wait_for(lambda: len(source.reported) == 2)
    assert source.errors == []


def test_a_raised_limit_lets_a_waiting_sender_take_another_batch(
    harness: Callable[..., Harness],
) -> None:
    h = harness(4, limit=1)
    gate = h.gate()
    h.add(*(FakeBatch(f"b{n}", gate) for n in range(3)))
    threads = h.start()
    assert len(threads) == 2
    source = h.source
    assert source.wait_for(lambda: source.running == 1)
    with h.lock:
        h.pool.concurrency.limit = 2
        h.pool.wake_if_room()
    assert source.wait_for(lambda: source.running == 2)
    gate.set()
    assert source.wait_for(lambda: len(source.done) == 3)
    assert source.max_running == 2
    assert source.errors == []


def test_a_chore_runs_without_a_sending_slot_and_without_the_lock(
    harness: Callable[..., Harness],
) -> None:
    h = harness(2, limit=1)
    gate = h.gate()
    h.add(FakeBatch("busy", gate))
    h.start()
    source = h.source
    assert source.wait_for(lambda: source.running == 1)  # the only slot is taken
    chore_done = threading.Event()
    unlocked: list[bool] = []

    def chore() -> None:
        free = h.lock.acquire(timeout=TIMEOUT)  # times out if this thread held the lock
        unlocked.append(free)
        if free:
            h.lock.release()
        chore_done.set()

    with h.lock:
        source.chores.append(chore)
        h.pool.wake_all()
    assert chore_done.wait(TIMEOUT)
    assert unlocked == [True]
    assert source.running == 1  # the batch is still in its call
    assert source.done == []
    gate.set()
    assert source.wait_for(lambda: len(source.done) == 1)
    assert source.errors == []


def test_watches_stay_balanced_and_a_sender_in_a_call_counts(
    harness: Callable[..., Harness],
) -> None:
    h = harness(3, limit=2)
    gate = h.gate()
    h.add(*(FakeBatch(f"b{n}", gate) for n in range(4)))
    h.start()
    source = h.source
    assert source.wait_for(lambda: source.running == 2)
    with h.lock:
        assert source.watchers >= 2  # each sender in a call is an inbox watcher
    gate.set()
    assert source.wait_for(lambda: len(source.done) == 4)
    h.stop()
    assert not h.alive()
    assert source.watchers == 0
    assert source.min_watchers == 0
    assert source.errors == []  # and each unwatch() was followed by a collect()


def test_an_idle_pool_with_nothing_coming_watches_nothing(
    harness: Callable[..., Harness],
) -> None:
    h = harness(3)
    h.start()
    source = h.source
    assert source.wait_for(lambda: source.collects >= 3)  # each thread looked once
    with h.lock:
        collects = source.collects
    # with nothing coming and nothing in flight, senders sleep until woken, uncounted
    assert not source.wait_for(lambda: source.collects > collects, timeout=0.2)
    assert source.watch_true_calls == 0
    assert source.errors == []


def test_while_records_keep_coming_one_waiting_sender_collects(
    harness: Callable[..., Harness],
) -> None:
    h = harness(4)
    with h.lock:
        h.source.keep_coming = True
    h.start()
    source = h.source
    # the collector wakes on its own every few milliseconds (no wake() from the test)
    assert source.wait_for(lambda: source.watch_true_calls >= 5)
    with h.lock:
        h.pool.wake_all()  # everyone looks again: still one collector
    with h.lock:
        calls = source.watch_true_calls
    assert source.wait_for(lambda: source.watch_true_calls >= calls + 5)
    assert source.max_waiting_watchers == 1
    with h.lock:
        source.keep_coming = False
        h.pool.wake_all()
    h.stop()
    assert source.watchers == 0
    assert source.errors == []


def test_a_sender_wakes_by_itself_when_the_next_batch_is_due(
    harness: Callable[..., Harness],
) -> None:
    h = harness(1)
    h.start()
    source = h.source
    assert source.wait_for(lambda: source.collects >= 1)
    with h.lock:
        source.hold_until(FakeBatch("later"), time.monotonic() + 0.05)
        h.pool.wake()  # it learns when the batch is due; nothing wakes it then
    assert source.wait_for(lambda: len(source.done) == 1)
    assert source.errors == []


def test_a_delivery_raising_a_base_exception_ends_its_thread_and_a_new_one_takes_over(
    harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    died: list[tuple[type[BaseException] | None, str | None]] = []

    def excepthook(args: Any) -> None:
        died.append((args.exc_type, None if args.thread is None else args.thread.name))

    monkeypatch.setattr(threading, "excepthook", excepthook)
    h = harness(1)
    source = h.source
    h.add(FakeBatch("fatal", raises=SystemExit(3)))
    [first] = h.start()
    first.join(TIMEOUT)
    assert not first.is_alive()
    assert died == [(SystemExit, first.name)]
    with h.lock:
        replacements = h.pool.threads()
    assert len(replacements) == 1
    assert replacements[0] is not first
    h.add(FakeBatch("next"))
    assert source.wait_for(lambda: len(source.done) == 2)
    assert source.run_threads["next"] is replacements[0]
    h.stop()
    assert source.watchers == 0
    assert source.errors == []


def test_no_replacement_once_the_pool_stops(
    harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threading, "excepthook", lambda args: None)
    h = harness(1)
    gate = h.gate()
    h.add(FakeBatch("fatal", gate, raises=SystemExit(3)))
    [first] = h.start()
    assert h.source.wait_for(lambda: h.source.running == 1)
    with h.lock:
        h.pool.stop()
    gate.set()
    first.join(TIMEOUT)
    assert not first.is_alive()
    with h.lock:
        assert h.pool.threads() == []


def test_stop_lets_senders_take_what_is_left_then_join_ends_every_thread(
    harness: Callable[..., Harness],
) -> None:
    h = harness(3, limit=2)
    gate = h.gate()
    h.add(*(FakeBatch(f"b{n}", gate) for n in range(5)))
    threads = h.start()
    source = h.source
    assert source.wait_for(lambda: source.running == 2)
    with h.lock:
        h.pool.stop()
        assert h.pool.stopping
    gate.set()
    h.pool.join(time.monotonic() + TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    assert len(source.done) == 5
    assert source.watchers == 0
    assert source.errors == []


def test_join_gives_up_at_its_deadline(harness: Callable[..., Harness]) -> None:
    h = harness(1)
    gate = h.gate()
    h.add(FakeBatch("stuck", gate))
    [thread] = h.start()
    assert h.source.wait_for(lambda: h.source.running == 1)
    with h.lock:
        h.pool.stop()
    started = time.monotonic()
    h.pool.join(started + 0.05)
    assert time.monotonic() - started < 2
    assert thread.is_alive()  # still in its call
    gate.set()
    h.pool.join(time.monotonic() + TIMEOUT)
    assert not thread.is_alive()
