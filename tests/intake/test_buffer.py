"""The per-(user, session) buffer: grouping, order, full batches first, flush interval."""

from __future__ import annotations

import time
from typing import Any

import pytest

from personalize_tracker._intake.buffer import Batch, GroupBuffer
from personalize_tracker._record.shared import GroupKey


def taken(
    buffer: GroupBuffer[GroupKey, Any], now: float, force: bool = False
) -> tuple[GroupKey, list[Any]] | None:
    """``take()`` as a (key, items) pair, for compact assertions."""
    batch = buffer.take(now, force)
    return None if batch is None else (batch.key, batch.records)


def test_groups_keep_arrival_order_and_cut_at_batch_size() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=10, flush_interval=1.0)
    for n in range(25):
        buffer.add(("u", "s"), n, now=0.0)
    assert taken(buffer, 0.0) == (("u", "s"), list(range(10)))
    assert taken(buffer, 0.0) == (("u", "s"), list(range(10, 20)))
    assert taken(buffer, 0.0) is None  # 5 left, not yet due
    assert taken(buffer, 1.0) == (("u", "s"), list(range(20, 25)))
    assert len(buffer) == 0


def test_add_reports_when_a_batch_becomes_ready_or_first_group_arrives() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=3, flush_interval=1.0)
    assert buffer.add(("u", "a"), 1, 0.0) is True  # first group: new deadline
    assert buffer.add(("u", "b"), 1, 0.0) is False
    assert buffer.add(("u", "b"), 2, 0.0) is False
    assert buffer.add(("u", "b"), 3, 0.0) is True  # full batch


def test_full_batches_go_before_partial_groups_not_yet_due() -> None:
    buffer: GroupBuffer[GroupKey, str] = GroupBuffer(batch_size=2, flush_interval=1.0)
    buffer.add((None, "old"), "o1", 0.0)
    buffer.add(("u", "new"), "n1", 0.5)
    buffer.add(("u", "new"), "n2", 0.5)
    assert taken(buffer, 0.6) == (("u", "new"), ["n1", "n2"])
    assert taken(buffer, 0.6) is None
    assert taken(buffer, 1.0) == ((None, "old"), ["o1"])


def test_users_and_sessions_are_separate_groups() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=10, flush_interval=1.0)
    buffer.add(("u1", "s"), 1, 0.0)
    buffer.add(("u2", "s"), 2, 0.0)
    buffer.add((None, "s"), 3, 0.0)
    batches = [taken(buffer, 0.0, force=True) for _ in range(3)]
    assert batches == [(("u1", "s"), [1]), (("u2", "s"), [2]), ((None, "s"), [3])]


def test_seconds_until_due_follows_oldest_group() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=10, flush_interval=2.0)
    assert buffer.seconds_until_due(0.0) is None
    buffer.add(("u", "a"), 1, now=10.0)
    buffer.add(("u", "b"), 1, now=11.0)
    assert buffer.seconds_until_due(10.5) == 1.5
    assert not buffer.has_ready(10.5)
    assert buffer.has_ready(10.5, force=True)
    assert taken(buffer, 12.0) == (("u", "a"), [1])
    assert buffer.seconds_until_due(12.0) == 1.0


def test_partial_take_keeps_the_deadline_of_the_oldest() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=2, flush_interval=1.0)
    for n in range(3):
        buffer.add(("u", "s"), n, now=float(n) / 10)
    assert taken(buffer, 0.2) == (("u", "s"), [0, 1])
    # the remaining item arrived at 0.2 but the group's deadline stays 0.0 + 1.0: never late
    assert buffer.seconds_until_due(0.5) == 0.5


def test_regrouped_key_after_drain_is_due_from_its_new_arrival() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=10, flush_interval=1.0)
    buffer.add(("u", "s"), 1, now=0.0)
    buffer.add(("u", "t"), 1, now=0.5)
    assert taken(buffer, 1.0) == (("u", "s"), [1])
    buffer.add(("u", "s"), 2, now=1.2)
    assert taken(buffer, 1.6) == (("u", "t"), [1])
    assert taken(buffer, 1.6) is None
    assert taken(buffer, 2.2) == (("u", "s"), [2])


def test_drain_returns_everything_in_batches() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=4, flush_interval=1.0)
    for n in range(9):
        buffer.add(("u", "s"), n, 0.0)
    buffer.add(("v", "s"), 99, 0.0)
    assert [(b.key, b.records) for b in buffer.drain()] == [
        (("u", "s"), [0, 1, 2, 3]),
        (("u", "s"), [4, 5, 6, 7]),
        (("u", "s"), [8]),
        (("v", "s"), [99]),
    ]
    assert len(buffer) == 0
    assert buffer.take(0.0, force=True) is None


def test_arrival_times_are_kept_only_when_asked() -> None:
    plain: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=2, flush_interval=1.0)
    timed: GroupBuffer[GroupKey, int] = GroupBuffer(
        batch_size=2, flush_interval=1.0, keep_times=True
    )
    for n in range(3):
        plain.add(("u", "s"), n, now=float(n))
        timed.add(("u", "s"), n, now=float(n))
    assert plain.take(0.0) == Batch(("u", "s"), [0, 1], [])
    assert timed.take(0.0) == Batch(("u", "s"), [0, 1], [0.0, 1.0])
    assert timed.drain() == [Batch(("u", "s"), [2], [2.0])]


def test_a_due_group_goes_before_full_batches() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=2, flush_interval=1.0)
    buffer.add(("u", "old"), 0, now=0.0)
    for n in range(4):
        buffer.add(("u", "busy"), n, now=1.5)  # two full batches
    assert taken(buffer, 1.5) == (("u", "old"), [0])  # waited its interval: first
    assert taken(buffer, 1.5) == (("u", "busy"), [0, 1])


def test_force_pending_forces_only_what_is_there() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=3, flush_interval=100.0)
    for n in range(5):
        buffer.add(("u", "s"), n, now=0.0)
    buffer.add(("v", "s"), 9, now=0.0)
    assert buffer.force_pending() == 6
    buffer.add(("u", "s"), 5, now=1.0)  # after the flush began: not forced
    buffer.add(("w", "s"), 7, now=1.0)
    first = buffer.take(1.0)
    assert first is not None
    assert (first.key, first.records, first.forced) == (("u", "s"), [0, 1, 2], True)
    assert buffer.forced == 3
    second = buffer.take(1.0)
    assert second is not None
    assert (second.records, second.forced) == ([3, 4, 5], True)  # the batch carries item 5 along
    third = buffer.take(1.0)
    assert third is not None
    assert (third.key, third.records, third.forced) == (("v", "s"), [9], True)
    assert buffer.forced == 0
    assert buffer.take(1.0) is None  # ("w", "s") was added later: it waits for its interval


def test_a_full_group_taken_by_a_flush_does_not_look_ready_afterwards() -> None:
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(batch_size=2, flush_interval=60.0)
    buffer.add(("u", "full"), 1, 0.0)
    buffer.add(("u", "full"), 2, 0.0)  # a full batch: its key is queued as full
    buffer.force_pending()
    batch = buffer.take(0.0)  # taken as forced items, not through the full queue
    assert batch is not None
    assert batch.records == [1, 2]
    buffer.add(("u", "later"), 3, 0.0)  # not due for 60 s
    assert buffer.has_ready(1.0) is False
    assert buffer.seconds_until_due(1.0) == 59.0
    assert buffer.take(1.0) is None


def test_requeued_records_go_first_and_a_flushs_records_stay_forced() -> None:
    buffer: GroupBuffer[str, int] = GroupBuffer(batch_size=3, flush_interval=3600.0)
    for n in range(4):
        buffer.add("a", n, now=0.0)
    buffer.force_pending()
    batch = buffer.take(now=0.0)
    assert batch is not None
    assert batch.records == [0, 1, 2]
    assert batch.forced
    buffer.add("a", 9, now=1.0)  # arrives while the batch is out
    buffer.requeue("a", batch.records, None, forced=True)  # its call was deferred
    assert buffer.size == 5
    again = buffer.take(now=1.0)
    assert again is not None
    assert again.records == [0, 1, 2]  # before 3 and 9: the order tracked
    assert buffer.forced == 1  # 3 is still forced; 9 never was


def test_requeued_records_of_an_emptied_group_wait_as_fresh_arrivals() -> None:
    buffer: GroupBuffer[str, int] = GroupBuffer(
        batch_size=3, flush_interval=3600.0, keep_times=True
    )
    buffer.requeue("a", [1, 2], [5.0, 6.0])
    assert buffer.take(now=time.monotonic() + 1) is None  # not due yet
    assert not buffer.forced
    batch = buffer.take(now=0.0, force=True)
    assert batch is not None
    assert batch.times == [5.0, 6.0]  # their age still counts from track()


def test_a_group_of_one_requeued_is_due_from_its_return_not_from_its_old_group() -> None:
    # A group of one is held as its bare record; taken and put back, the same record starts a
    # new group while the old group's place in the order is still queued behind an older group.
    buffer: GroupBuffer[str, object] = GroupBuffer(batch_size=3, flush_interval=10.0)
    record = object()
    buffer.add("old", object(), 0.0)
    buffer.add("b", record, 1.0)
    buffer.add("b", object(), 1.0)
    buffer.add("b", object(), 1.0)  # full
    taken = buffer.take(now=1.5)
    assert taken is not None
    assert taken.key == "b"
    assert taken.records[0] is record
    buffer.requeue("b", [record])  # back, as a fresh arrival (now)
    first = buffer.take(now=10.5)
    assert first is not None
    assert first.key == "old"
    assert buffer.take(now=time.monotonic()) is None  # waits flush_interval from its return
    again = buffer.take(now=time.monotonic() + 10.0)
    assert again is not None
    assert again.records == [record]


def test_a_group_made_after_the_buffer_emptied_is_due_from_its_own_arrival() -> None:
    # The creation order is forgotten once the buffer is empty; a group created within a
    # millisecond of the last one before it still gets its own arrival time, not an older one.
    buffer: GroupBuffer[str, int] = GroupBuffer(batch_size=2, flush_interval=10.0)
    buffer.add("x", 1, 5.0)
    buffer.add("x", 2, 5.0)  # a full batch, taken before it is due
    taken = buffer.take(now=5.0)
    assert taken is not None
    assert taken.records == [1, 2]
    assert buffer.take(now=5.0) is None
    buffer.add("y", 3, 5.0005)
    assert buffer.seconds_until_due(5.0005) == pytest.approx(10.0)


def test_groups_created_within_a_millisecond_are_due_together() -> None:
    # They share the first one's ``since`` (one float object: memory); each record keeps its
    # own arrival time.
    buffer: GroupBuffer[GroupKey, int] = GroupBuffer(
        batch_size=10, flush_interval=1.0, keep_times=True
    )
    buffer.add(("u", "a"), 1, now=10.0)
    buffer.add(("u", "b"), 2, now=10.0005)
    buffer.add(("u", "c"), 3, now=10.002)
    assert buffer.take(11.0) == Batch(("u", "a"), [1], [10.0])
    assert buffer.take(11.0) == Batch(("u", "b"), [2], [10.0005])  # due with the first
    assert buffer.take(11.0) is None  # 2 ms later: a deadline of its own
    assert buffer.seconds_until_due(11.0) == 1.0 + 10.002 - 11.0
    assert buffer.take(11.002) == Batch(("u", "c"), [3], [10.002])


# A group of one record is kept as the record and its arrival (memory: one session per event);
# it grows into a full group when more records come, a flush forces it or records are put back.


def test_a_one_record_group_grows_in_its_place_in_the_order() -> None:
    buffer: GroupBuffer[str, int] = GroupBuffer(batch_size=3, flush_interval=1.0)
    buffer.add("a", 1, now=0.0)
    buffer.add("b", 2, now=0.5)
    assert buffer.add("a", 3, now=0.7) is False
    assert buffer.seconds_until_due(0.8) == 1.0 - 0.8  # still "a"'s arrival at 0.0
    assert taken(buffer, 1.0) == ("a", [1, 3])  # first: it was created first
    assert taken(buffer, 1.5) == ("b", [2])
    assert len(buffer) == 0


def test_one_record_groups_forced_by_a_flush() -> None:
    buffer: GroupBuffer[str, int] = GroupBuffer(batch_size=3, flush_interval=100.0)
    buffer.add("a", 1, now=0.0)
    buffer.add("b", 2, now=0.0)
    assert buffer.force_pending() == 2
    buffer.add("a", 3, now=1.0)  # joins the forced group; not forced itself
    first = buffer.take(1.0)
    assert first is not None
    assert (first.key, first.records, first.forced) == ("a", [1, 3], True)
    second = buffer.take(1.0)
    assert second is not None
    assert (second.key, second.records, second.forced) == ("b", [2], True)
    assert buffer.forced == 0


def test_a_stale_full_key_does_not_make_a_new_one_record_group_ready() -> None:
    buffer: GroupBuffer[str, int] = GroupBuffer(batch_size=2, flush_interval=60.0)
    buffer.add("a", 1, now=0.0)
    buffer.add("a", 2, now=0.0)  # full: "a" is queued as full
    buffer.force_pending()
    assert taken(buffer, 0.0) == ("a", [1, 2])  # taken as forced, its full key left behind
    buffer.add("a", 3, now=1.0)  # the same key, one record again
    assert buffer.seconds_until_due(1.0) == 60.0
    assert buffer.take(1.0) is None
    assert taken(buffer, 61.0) == ("a", [3])


def test_records_put_back_in_front_of_a_one_record_group() -> None:
    buffer: GroupBuffer[str, int] = GroupBuffer(batch_size=2, flush_interval=60.0)
    buffer.add("a", 1, now=0.0)
    buffer.add("a", 2, now=0.0)
    batch = buffer.take(0.0)
    assert batch is not None
    buffer.add("a", 3, now=1.0)  # arrives while the batch is out
    buffer.requeue("a", batch.records)
    assert taken(buffer, 1.0) == ("a", [1, 2])  # a full batch again, before 3
    assert taken(buffer, 1.0) is None
    assert taken(buffer, 0.0, force=True) == ("a", [3])


def test_batches_of_one_keep_arrival_times_when_asked() -> None:
    buffer: GroupBuffer[str, int] = GroupBuffer(batch_size=1, flush_interval=60.0, keep_times=True)
    assert buffer.add("a", 1, now=5.0, tracked_at=2.0) is True
    assert buffer.take(5.0) == Batch("a", [1], [2.0])


def test_the_next_group_due_is_the_oldest_held_after_groups_left_out_of_order() -> None:
    # Groups are kept in a plain dict, their creation order beside it (issue 18: memory): a
    # group taken from the middle, or taken and created again under the same key, must not
    # make a younger group look older, nor hide the oldest one.
    buffer: GroupBuffer[str, int] = GroupBuffer(batch_size=10, flush_interval=1.0)
    buffer.add("a", 0, now=100.0)
    for n in range(10):
        buffer.add("b", n, now=100.5)
    assert taken(buffer, 100.6) == ("b", list(range(10)))  # full: taken before "a" is due
    buffer.add("b", 99, now=100.9)  # "b" again: a new group, younger than "a"
    buffer.add("c", 7, now=100.95)
    assert buffer.seconds_until_due(100.9) == pytest.approx(0.1)  # "a"'s: 101.0 - 100.9
    assert taken(buffer, 101.0) == ("a", [0])
    assert buffer.seconds_until_due(101.0) == pytest.approx(0.9)  # the new "b"'s: 101.9 - 101
    assert taken(buffer, 101.9) == ("b", [99])
    assert taken(buffer, 101.9) is None  # "c" is due at 101.95
    assert taken(buffer, 101.95) == ("c", [7])
    assert buffer.seconds_until_due(102.0) is None
    buffer.add("a", 1, now=200.0)  # after the buffer emptied
    assert taken(buffer, 201.0) == ("a", [1])
