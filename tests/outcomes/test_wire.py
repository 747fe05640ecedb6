"""The wire: batches in flight, their record count, and the flushes that wait for them."""

from __future__ import annotations

from personalize_tracker._outcomes.wire import Wire


class FakeBatch:
    """A batch as the wire sees it (compared by identity, as the wire does)."""

    def __init__(self, size: int, forced: bool = False) -> None:
        self.records = list(range(size))
        self.forced = forced


def test_taken_and_finished_keep_the_record_count() -> None:
    wire: Wire[FakeBatch] = Wire()
    a, b = FakeBatch(2), FakeBatch(3)
    wire.taken(a)
    wire.taken(b)
    assert wire.count == 5
    assert wire.finished(a) is True
    assert wire.count == 3
    assert wire.finished(a) is False  # not on the wire any more
    assert wire.count == 3
    assert wire.finished(b) is True
    assert wire.count == 0


def test_a_batch_never_taken_does_not_finish() -> None:
    wire: Wire[FakeBatch] = Wire()
    wire.taken(FakeBatch(2))
    assert wire.finished(FakeBatch(2)) is False  # an equal-looking batch is another batch
    assert wire.count == 2


def test_abandon_forgets_every_batch_and_their_ends_are_not_counted_again() -> None:
    wire: Wire[FakeBatch] = Wire()
    a, b = FakeBatch(1), FakeBatch(4)
    wire.taken(a)
    wire.taken(b)
    abandoned = wire.abandon()
    assert len(abandoned) == 2
    assert abandoned[0] is a
    assert abandoned[1] is b
    assert wire.count == 0
    assert wire.finished(a) is False
    assert wire.finished(b) is False
    assert wire.count == 0
    assert wire.abandon() == []


def test_a_flush_is_settled_once_the_batches_on_the_wire_when_it_began_finish() -> None:
    wire: Wire[FakeBatch] = Wire()
    a, b = FakeBatch(1), FakeBatch(1)
    wire.taken(a)
    wire.taken(b)
    before = wire.begin_flush()
    assert before == [a, b]
    assert wire.flush_waiters == 1
    later = FakeBatch(5)  # taken after the flush began, not forced: not waited for
    wire.taken(later)
    assert not wire.settled(before)
    wire.finished(a)
    assert not wire.settled(before)
    wire.finished(b)
    assert wire.settled(before)
    assert wire.count == 5
    wire.end_flush()
    assert wire.flush_waiters == 0


def test_a_forced_batch_on_the_wire_keeps_a_flush_unsettled() -> None:
    wire: Wire[FakeBatch] = Wire()
    before = wire.begin_flush()
    assert before == []
    assert wire.settled(before)
    forced = FakeBatch(2, forced=True)  # records the flush waits for, taken from the buffer
    wire.taken(forced)
    assert not wire.settled(before)
    wire.finished(forced)
    assert wire.settled(before)


def test_the_end_of_an_awaited_batch_wakes_the_flush_once() -> None:
    wire: Wire[FakeBatch] = Wire()
    a, other = FakeBatch(1), FakeBatch(1)
    wire.taken(a)
    wire.begin_flush()
    wire.taken(other)  # after the flush began
    wire.finished(other)
    assert wire.wakes_flush(other, buffer_forced=0) is False
    wire.finished(a)
    assert wire.wakes_flush(a, buffer_forced=0) is True
    assert wire.wakes_flush(a, buffer_forced=0) is False  # no longer awaited


def test_the_last_forced_batch_wakes_the_flush() -> None:
    wire: Wire[FakeBatch] = Wire()
    wire.begin_flush()
    first, last = FakeBatch(1, forced=True), FakeBatch(1, forced=True)
    wire.taken(first)
    wire.taken(last)
    wire.finished(first)
    assert wire.wakes_flush(first, buffer_forced=3) is False  # forced records still wait
    wire.finished(last)
    assert wire.wakes_flush(last, buffer_forced=0) is True


def test_nothing_wakes_when_no_flush_waits() -> None:
    wire: Wire[FakeBatch] = Wire()
    a = FakeBatch(1)
    wire.taken(a)
    wire.begin_flush()
    wire.end_flush()
    assert wire.flush_waiters == 0
    wire.finished(a)
    assert wire.wakes_flush(a, buffer_forced=0) is False
    forced = FakeBatch(1, forced=True)
    wire.taken(forced)
    wire.finished(forced)
    assert wire.wakes_flush(forced, buffer_forced=0) is False


def test_flushes_are_counted_while_they_wait() -> None:
    wire: Wire[FakeBatch] = Wire()
    a = FakeBatch(1)
    wire.taken(a)
    first = wire.begin_flush()
    second = wire.begin_flush()
    assert wire.flush_waiters == 2
    assert first == second == [a]
    wire.end_flush()
    wire.finished(a)
    assert wire.wakes_flush(a, buffer_forced=0) is True  # the other flush still waits
    wire.end_flush()
    assert wire.flush_waiters == 0
