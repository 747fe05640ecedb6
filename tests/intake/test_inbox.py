"""The inbox alone: producers' lock-free put, its one ordering rule with the watchers, drain,
seal and retract (with fakes for the buffer and the callbacks the pipeline hands it)."""

from __future__ import annotations

import threading

import pytest

from personalize_tracker._intake.inbox import Inbox


class FakeBuffer:
    size = 0


class Calls:
    """The callbacks an inbox is handed, recording what they were called with."""

    def __init__(self) -> None:
        self.take_in: list[object] = []
        self.nudges = 0
        self.locked: list[object] = []

    def nudge(self) -> None:
        self.nudges += 1


def make(capacity: int = 100, nudge_at: int = 3) -> tuple[Inbox[object], Calls, FakeBuffer]:
    calls, buffer = Calls(), FakeBuffer()
    inbox: Inbox[object] = Inbox(
        capacity, buffer, calls.take_in.append, calls.nudge, calls.locked.append, nudge_at
    )
    return inbox, calls, buffer


def drained(inbox: Inbox[object]) -> list[object]:
    out: list[object] = []
    inbox.drain(lambda r: out.append(r) is not None, lambda n: None)
    return out


def test_a_producer_that_sees_no_watcher_takes_the_inbox_in_itself() -> None:
    inbox, calls, _ = make()
    inbox.put("a")
    assert calls.take_in == ["a"]
    assert inbox.size == 1  # take_in (the pipeline) drains it; the inbox only appended


def test_a_watched_inbox_only_appends() -> None:
    inbox, calls, _ = make()
    inbox.watch()
    inbox.put("a")
    inbox.put("b")
    assert calls.take_in == []
    assert calls.locked == []
    assert inbox.size == 2
    inbox.unwatch()
    assert drained(inbox) == ["a", "b"]


def test_a_wanted_collector_counts_as_a_watcher_until_one_answers() -> None:
    inbox, calls, _ = make()
    inbox.wanted = True
    inbox.put("a")
    assert calls.take_in == []
    inbox.watch(clear_wanted=True)
    assert inbox.wanted is False
    inbox.unwatch()
    inbox.put("b")
    assert calls.take_in == ["b"]


def test_a_batch_worth_of_waiting_records_nudges_a_sender_once() -> None:
    inbox, calls, _ = make(nudge_at=3)
    inbox.watch()
    for record in "abcd":
        inbox.put(record)
    assert calls.nudges == 1


def test_a_record_that_does_not_fit_goes_to_the_locked_path() -> None:
    inbox, calls, buffer = make(capacity=3)
    inbox.watch()
    buffer.size = 2  # the buffer and the inbox together hold the capacity
    inbox.put("a")
    inbox.put("b")
    assert calls.locked == ["b"]
    assert inbox.size == 1


def test_a_closing_inbox_sends_every_producer_to_take_in() -> None:
    inbox, calls, _ = make()
    inbox.watch()
    inbox.seal(lambda r: False, lambda n: None)
    inbox.put("late")
    assert calls.take_in == ["late"]


def test_drain_takes_every_record_in_order_and_says_whether_a_batch_became_ready() -> None:
    inbox, _, _ = make()
    inbox.watch()
    for record in range(5):
        inbox.put(record)
    taken: list[int] = []
    added: list[object] = []
    assert inbox.drain(lambda r: (added.append(r), r == 3)[1], taken.append) is True
    assert added == [0, 1, 2, 3, 4]
    assert taken == [5]
    assert inbox.drain(lambda r: True, taken.append) is False  # empty: nothing, not counted
    assert taken == [5]


def test_drain_counts_what_it_took_even_if_the_buffer_raises() -> None:
    inbox, _, _ = make()
    inbox.watch()
    for record in range(4):
        inbox.put(record)

    def add(record: object) -> bool:
        if record == 2:
            raise MemoryError
        return False

    taken: list[int] = []
    with pytest.raises(MemoryError):
        inbox.drain(add, taken.append)
    assert taken == [2]  # the two records put in the buffer before the error


def test_a_sealed_inbox_takes_nothing_more() -> None:
    inbox, _, _ = make()
    inbox.watch()
    inbox.put("before")
    seen: list[object] = []
    inbox.seal(lambda r: seen.append(r) is not None, lambda n: None)
    assert seen == ["before"]
    assert inbox.sealed
    inbox.put("after")  # a producer racing the seal: it finds its record still there
    assert drained(inbox) == []
    assert inbox.retract("after") is True
    assert inbox.retract("after") is False
    assert inbox.size == 0


def test_retract_removes_only_the_record_itself() -> None:
    inbox, _, _ = make()
    inbox.watch()
    a, b = ["same"], ["same"]  # equal, not identical
    inbox.put(a)
    inbox.put(b)
    assert inbox.retract(b) is True
    assert drained(inbox) == [a]
    assert drained(inbox) == []


def test_the_ordering_rule_leaves_no_record_behind() -> None:
    # Producers put without a lock while a watcher keeps watching, unwatching and draining under
    # the lock; a producer that sees no watcher takes the inbox in itself. The watcher stops half
    # way, after its last unwatch and drain, and nobody drains at the end: a record is left
    # behind if a producer saw the watcher's count before appending (the rule broken).
    lock = threading.Lock()
    got: list[tuple[int, int]] = []
    inbox: Inbox[tuple[int, int]]

    def take_in(record: tuple[int, int]) -> None:
        with lock:
            inbox.drain(lambda r: got.append(r) is not None, lambda n: None)

    inbox = Inbox(10**9, FakeBuffer(), take_in, lambda: None, lambda r: None, 10**9)
    done = threading.Event()
    rounds = 0

    def watcher() -> None:
        nonlocal rounds
        while not done.is_set():
            with lock:
                inbox.watch()
            with lock:
                inbox.unwatch()  # lowered before the look: the rule
                inbox.drain(lambda r: got.append(r) is not None, lambda n: None)
            rounds += 1

    def producer(n: int) -> None:
        for i in range(20_000):
            inbox.put((n, i))
            if i == 10_000:
                done.set()  # the watcher stops while records keep coming

    watching = threading.Thread(target=watcher)
    watching.start()
    producers = [threading.Thread(target=producer, args=(n,)) for n in range(3)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    watching.join()
    assert rounds > 0
    assert inbox.size == 0
    assert len(got) == 60_000
    for n in range(3):  # each producer's records in the order put
        assert [i for m, i in got if m == n] == list(range(20_000))


def test_after_fork_the_inbox_is_empty_and_open() -> None:
    inbox, calls, _ = make()
    inbox.watch()
    inbox.put("parent's")
    inbox.seal(lambda r: False, lambda n: None)
    inbox.after_fork()
    assert (inbox.size, inbox.watchers, inbox.sealed, inbox.closing) == (0, 0, False, False)
    inbox.put("child's")
    assert calls.take_in == ["child's"]
