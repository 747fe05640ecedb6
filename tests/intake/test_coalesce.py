"""Coalescing: a later record of an id takes the place of one still waiting in the buffer."""

from __future__ import annotations

import time

import attrs
import pytest

from personalize_tracker._intake.buffer import GroupBuffer
from personalize_tracker._intake.coalesce import Coalescer


@attrs.frozen(eq=False)
class Rec:
    id: str
    version: int = 0


class Made:
    def __init__(self, batch_size: int) -> None:
        self.buffer: GroupBuffer[str, Rec] = GroupBuffer(batch_size, flush_interval=60.0)
        self.replaced = 0
        self.coalescer = Coalescer(self.buffer, lambda r: r.id, self.count)

    def count(self) -> None:
        self.replaced += 1

    def add(self, key: str, record: Rec) -> bool:
        return self.coalescer.add(key, record)


def ids(records: list[Rec]) -> list[tuple[str, int]]:
    return [(r.id, r.version) for r in records]


def test_a_later_record_replaces_a_waiting_one_in_its_place() -> None:
    made = Made(3)
    assert made.add("k", Rec("a")) is True  # a new group in an empty buffer: due next
    made.add("k", Rec("b"))
    assert made.add("k", Rec("a", 1)) is False
    assert (made.replaced, made.buffer.size) == (1, 2)
    batch = made.buffer.take(0.0, force=True)
    assert batch is not None
    assert ids(batch.records) == [("a", 1), ("b", 0)]


def test_a_full_batch_of_distinct_ids_is_still_ready() -> None:
    made = Made(2)
    made.add("k", Rec("a"))
    made.add("k", Rec("a", 1))
    assert made.add("k", Rec("b")) is True


def test_a_taken_record_is_never_replaced() -> None:
    made = Made(2)
    made.add("k", Rec("a"))
    made.add("k", Rec("b"))
    assert made.buffer.take(0.0) is not None
    made.add("k", Rec("a", 1))  # sent again, after the first
    assert (made.replaced, made.buffer.size) == (0, 1)


def test_a_record_put_back_keeps_the_positions_of_those_behind_it() -> None:
    made = Made(2)
    for name in "abcd":
        made.add("k", Rec(name))
    batch = made.buffer.take(0.0)  # a, b on the wire; c, d held
    assert batch is not None
    made.buffer.requeue("k", batch.records)  # a failed attempt: a, b back in front
    made.add("k", Rec("d", 1))  # found where it now is
    made.add("k", Rec("a", 1))  # the put-back a, not delivered, is replaced too
    assert made.replaced == 2
    taken = [r for b in made.buffer.drain() for r in b.records]
    assert ids(taken) == [("a", 1), ("b", 0), ("c", 0), ("d", 1)]


def test_positions_hold_when_the_taken_prefix_is_cut() -> None:
    made = Made(2)
    for name in "abcdef":
        made.add("k", Rec(name))
    for _ in range(2):  # a, b then c, d: the group's list is cut
        assert made.buffer.take(0.0) is not None
    made.add("k", Rec("f", 1))
    assert made.replaced == 1
    rest = made.buffer.drain()
    assert ids([r for b in rest for r in b.records]) == [("e", 0), ("f", 1)]


def test_a_group_taken_whole_and_begun_again_is_not_confused() -> None:
    made = Made(5)
    made.add("k", Rec("a"))
    assert made.buffer.take(0.0, force=True) is not None  # the whole group's list handed over
    made.add("k", Rec("b"))
    made.add("k", Rec("a", 1))
    assert (made.replaced, made.buffer.size) == (0, 2)


def test_groups_coalesce_separately() -> None:
    made = Made(3)
    made.add("k1", Rec("a"))
    made.add("k2", Rec("a", 1))
    assert (made.replaced, made.buffer.size) == (0, 2)


def test_entries_of_records_that_left_are_pruned() -> None:
    made = Made(10)
    for n in range(5000):
        made.add("k", Rec(str(n)))
        if made.buffer.size >= 10:
            assert made.buffer.take(0.0) is not None
    assert len(made.coalescer.held) <= 1025  # not one per id ever seen
    made.add("k", Rec("x"))
    made.add("k", Rec("x", 1))
    assert made.replaced == 1


class Gate:
    def __init__(self) -> None:
        self.wait = 0.0

    def __call__(self) -> float:
        return self.wait


def test_a_gate_keeps_batches_in_the_buffer_where_they_still_coalesce() -> None:
    gate = Gate()
    buffer: GroupBuffer[str, Rec] = GroupBuffer(2, flush_interval=1.0, gate=gate)
    coalescer = Coalescer(buffer, lambda r: r.id, lambda: None)
    assert coalescer.add("k", Rec("a")) is True  # a new group: recompute the wait
    assert coalescer.add("k", Rec("b")) is False  # full, but held until the group is due
    assert buffer.take(0.0) is None
    now = time.monotonic()  # at or after the group's arrival
    assert buffer.seconds_until_due(now) == pytest.approx(1.0, abs=0.05)
    gate.wait = 5.0  # the rate limit's next slot is later still
    assert buffer.seconds_until_due(now + 1.0) == 5.0
    assert buffer.take(now + 1.0) is None
    coalescer.add("k", Rec("a", 1))  # still held: replaced
    gate.wait = 0.0
    batch = buffer.take(now + 1.0)
    assert batch is not None
    assert ids(batch.records) == [("a", 1), ("b", 0)]


def test_a_forced_take_ignores_the_gate() -> None:
    buffer: GroupBuffer[str, Rec] = GroupBuffer(10, flush_interval=60.0, gate=lambda: 9.0)
    buffer.add("k", Rec("a"))
    assert not buffer.has_ready(0.0)
    assert buffer.has_ready(0.0, force=True)
    batch = buffer.take(0.0, force=True)
    assert batch is not None
    assert ids(batch.records) == [("a", 0)]
