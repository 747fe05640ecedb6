"""Admission alone: the fate of a record that does not fit (drop, block, spill), with a fake of
what the queue holds and a plain lock for the pipeline's."""

from __future__ import annotations

import threading
import time

from personalize_tracker._intake.admission import Admission


class Queue:
    """What the pipeline tells the admission: how many records it holds."""

    def __init__(self, held: int) -> None:
        self.held = held
        self.started = 0

    def start(self) -> None:
        self.started += 1


def make(
    queue: Queue,
    overflow: str = "drop",
    block_timeout: float = 30.0,
    can_block: bool = True,
    lock: threading.Lock | None = None,
) -> Admission:
    return Admission(
        lock or threading.Lock(),
        capacity=2,
        overflow=overflow,  # type: ignore[arg-type]
        block_timeout=block_timeout,
        held=lambda: queue.held,
        can_block=can_block,
        start_senders=queue.start,
    )


def never() -> bool:
    return False


def until_waiting(admission: Admission, lock: threading.Lock, timeout: float = 10.0) -> bool:
    """Poll until a caller waits for room (a wait has no event to wait on from outside)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with lock:
            if admission.waiting:
                return True
        threading.Event().wait(0.001)
    return False


def test_a_record_that_fits_is_added_whatever_the_policy() -> None:
    for overflow in ("drop", "block", "spill"):
        admission = make(Queue(held=1), overflow)
        assert admission.decide(overflow == "spill", False, never) == "add"


def test_a_full_queue_drops_without_waiting() -> None:
    queue = Queue(held=2)
    assert make(queue).decide(False, False, never) == "drop"
    assert queue.started == 0


def test_spill_goes_to_disk_when_full_and_stays_there_while_the_spool_holds_records() -> None:
    assert make(Queue(held=2), "spill").decide(True, False, never) == "spill"
    # room in memory again, but older records wait on disk: first in, first out
    assert make(Queue(held=0), "spill").decide(True, True, never) == "spill"
    # no spool open (a forked child that could not open one): a full queue drops
    assert make(Queue(held=2), "spill").decide(False, False, never) == "drop"


def test_block_waits_until_room_is_freed() -> None:
    lock = threading.Lock()
    queue = Queue(held=2)
    admission = make(queue, "block", lock=lock)
    verdict: list[str] = []

    def caller() -> None:
        with lock:
            verdict.append(admission.decide(False, False, never))

    thread = threading.Thread(target=caller)
    thread.start()
    assert until_waiting(admission, lock)  # the caller waits (it released the lock to do so)
    with lock:
        queue.held = 1
        admission.freed(1)
    thread.join(10)
    assert verdict == ["add"]
    assert queue.started == 1  # senders were started so that someone makes room
    assert admission.waiting == 0


def test_a_blocked_caller_stops_waiting_when_the_pipeline_closes() -> None:
    lock = threading.Lock()
    admission = make(Queue(held=2), "block", lock=lock)
    closed = threading.Event()
    verdict: list[str] = []

    def caller() -> None:
        with lock:
            verdict.append(admission.decide(False, False, closed.is_set))

    thread = threading.Thread(target=caller)
    thread.start()
    assert until_waiting(admission, lock)
    with lock:
        closed.set()
        admission.wake_all()
    thread.join(10)
    assert verdict == ["drop"]  # the pipeline raises TrackerClosedError for it


def test_block_gives_up_after_its_timeout_and_never_waits_where_it_must_not() -> None:
    lock = threading.Lock()
    with lock:  # (the pipeline holds its lock; the wait releases it)
        admission = make(Queue(held=2), "block", block_timeout=0.01, lock=lock)
        assert admission.decide(False, False, never) == "drop"
    queue = Queue(held=2)
    assert make(queue, "block", can_block=False).decide(False, False, never) == "drop"  # sync
    assert make(queue, "block", block_timeout=0).decide(False, False, never) == "drop"
    assert queue.started == 0
