"""The pipeline, generic over the record kind, tested once with a record of its own and a fake
transport (as OpenTelemetry tests its BatchProcessor with a mock exporter): batching per group,
the poison split, flush, close, the spool, dead letters and sync delivery, all accounted for.

Nothing here is an event: a new record kind is a record type, a codec and a transport.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from personalize_tracker import FailedEvent, TrackerClosedError
from personalize_tracker._config import Options
from personalize_tracker._errors import SendError
from personalize_tracker._pipeline import Codec, Pipeline


@attrs.frozen
class Note:
    """A record kind of this test's own: grouped by ``group``."""

    group: str
    n: int


def decode(data: Mapping[str, Any]) -> Note:
    return Note(data["group"], data["n"])


CODEC: Codec[Note, str] = Codec(
    key=lambda note: note.group,
    batch_size=3,
    encode=attrs.asdict,
    decode=decode,
    letter=lambda note: {"note": attrs.asdict(note)},
    record_id=lambda note: f"{note.group}-{note.n}",
)


class FakeTransport:
    """Records every call; a note whose ``n`` is in ``invalid`` makes its call fail as the
    service fails a batch holding a bad record; ``gate`` holds calls until set."""

    def __init__(self, invalid: frozenset[int] = frozenset()) -> None:
        self.invalid = invalid
        self.calls: list[tuple[str, list[int]]] = []
        self.threads: set[int] = set()
        self.gate: threading.Event | None = None
        self.lock = threading.Lock()
        self.started = threading.Semaphore(0)

    def send(self, key: str, records: Sequence[Note]) -> None:
        self.started.release()
        if self.gate is not None:
            assert self.gate.wait(10)
        with self.lock:
            self.threads.add(threading.get_ident())
            if any(note.n in self.invalid for note in records):
                raise SendError("InvalidInputException", "a bad note", invalid=True)
            self.calls.append((key, [note.n for note in records]))

    def delivered(self) -> list[int]:
        with self.lock:
            return [n for _, numbers in self.calls for n in numbers]


def make(
    transport: FakeTransport, failures: list[FailedEvent] | None = None, **options: Any
) -> Pipeline[Note, str]:
    values = {"max_requests_per_second": None, "max_workers": 4, **options}
    return Pipeline(
        Options(**values),
        transport,
        CODEC,
        on_failure=None if failures is None else failures.extend,
        name="PutNotes",
    )


def balanced(pipeline: Pipeline[Note, str]) -> bool:
    s = pipeline.stats()
    return s.tracked == s.delivered + s.failed + s.dropped + s.pending


def test_records_go_out_in_batches_of_one_group_in_order() -> None:
    transport = FakeTransport()
    pipeline = make(transport, flush_interval=3600)
    for n in range(7):
        pipeline.put(Note("a", n))
    pipeline.put(Note("b", 100))
    assert pipeline.flush(timeout=10)  # the partial batches too
    pipeline.close(None)
    by_group: dict[str, list[list[int]]] = {}
    for key, numbers in transport.calls:
        by_group.setdefault(key, []).append(numbers)
    assert by_group == {"a": [[0, 1, 2], [3, 4, 5], [6]], "b": [[100]]}
    stats = pipeline.stats()
    assert (stats.tracked, stats.delivered, stats.pending) == (8, 8, 0)


def test_a_bad_record_fails_alone_and_the_rest_of_its_batch_is_delivered() -> None:
    transport = FakeTransport(invalid=frozenset({4}))
    failures: list[FailedEvent] = []
    pipeline = make(transport, failures)
    for n in range(6):
        pipeline.put(Note("a", n))
    assert pipeline.flush(timeout=10)
    pipeline.close(None)
    assert sorted(transport.delivered()) == [0, 1, 2, 3, 5]
    assert [(f.event, f.reason.value, f.error_code) for f in failures] == [
        (Note("a", 4), "invalid", "InvalidInputException")
    ]
    assert balanced(pipeline)


def test_close_with_no_time_left_fails_what_it_could_not_send_and_balances() -> None:
    transport = FakeTransport()
    transport.gate = threading.Event()
    failures: list[FailedEvent] = []
    pipeline = make(transport, failures, max_workers=1, flush_interval=3600)
    for n in range(3):
        pipeline.put(Note("a", n))  # a full batch: on the wire, held by the gate
    assert transport.started.acquire(timeout=10)
    for n in range(3, 5):
        pipeline.put(Note("b", n))  # never sent
    pipeline.close(timeout=0)
    assert sorted(f.event.n for f in failures) == [3, 4]
    assert {f.reason.value for f in failures} == {"closed"}
    assert pipeline.stats().pending == 3  # the call on the wire is still under way
    transport.gate.set()
    assert balanced(pipeline)
    with pytest.raises(TrackerClosedError):
        pipeline.put(Note("c", 9))


def test_the_spool_keeps_any_record_kind_for_the_next_process(tmp_path: Path) -> None:
    transport = FakeTransport()
    transport.gate = threading.Event()
    first = make(transport, max_queue_size=3, overflow="spill", spool_path=tmp_path, max_workers=1)
    for n in range(3):
        first.put(Note("a", n))  # a full batch, held on the wire
    assert transport.started.acquire(timeout=10)
    for n in range(3, 8):
        first.put(Note("b", n))  # 3 in memory, 2 on disk
    assert first.stats().spooled == 2
    first.close(timeout=0)  # what is left goes to the spool, not to failures
    transport.gate.set()
    first.pool.join(None)  # the call left on the wire ends: then the spool closes (unlocked)
    assert balanced(first)
    assert first.stats().failed == 0

    later = FakeTransport()
    second = make(later, overflow="spill", spool_path=tmp_path)
    assert second.stats().recovered == 5
    assert second.flush(timeout=10)
    second.close(None)
    assert sorted(later.delivered()) == [3, 4, 5, 6, 7]


def test_failures_reach_the_dead_letter_file_with_the_kinds_own_letter(tmp_path: Path) -> None:
    path = tmp_path / "dead.jsonl"
    pipeline = make(FakeTransport(invalid=frozenset({1})), dead_letter_path=path)
    pipeline.put(Note("a", 1))
    assert pipeline.flush(timeout=10)
    pipeline.close(None)
    (line,) = [json.loads(text) for text in path.read_text().splitlines()]
    assert line["reason"] == "invalid"
    assert line["note"] == {"group": "a", "n": 1}


def test_sync_delivery_happens_on_the_callers_thread() -> None:
    transport = FakeTransport()
    pipeline = make(transport, sync=True)
    for n in range(3):
        pipeline.put(Note("a", n))  # the third fills the batch: sent here
    assert transport.delivered() == [0, 1, 2]
    assert transport.threads == {threading.get_ident()}
    pipeline.put(Note("a", 3))
    assert pipeline.flush(timeout=10)
    pipeline.close(None)
    assert transport.delivered() == [0, 1, 2, 3]
    assert pipeline.stats().senders == 0


def test_a_coalescing_kind_never_has_two_calls_on_the_wire() -> None:
    # An identity kind (items: the dataset keeps the last write) sends one call at a time: a
    # later version of an id never overtakes an earlier one whose call is still under way.
    transport = FakeTransport()
    transport.gate = threading.Event()
    codec: Codec[Note, str] = Codec(
        key=lambda note: "all",
        batch_size=3,
        encode=attrs.asdict,
        decode=decode,
        letter=lambda note: {"note": attrs.asdict(note)},
        record_id=lambda note: f"{note.group}-{note.n}",
        identity=lambda note: note.group,
    )
    options = Options(max_requests_per_second=None, max_workers=4, flush_interval=0.01)
    pipeline = Pipeline(options, transport, codec, name="PutNotes")
    pipeline.put(Note("A", 1))
    assert transport.started.acquire(timeout=10)  # version 1 is on the wire, held
    pipeline.put(Note("A", 2))
    assert not pipeline.flush(timeout=0.3)  # senders had their chance to send version 2
    assert not transport.started.acquire(blocking=False)  # and did not start its call
    assert pipeline.stats().senders == 1
    transport.gate.set()
    assert pipeline.flush(timeout=10)
    pipeline.close(10)
    assert transport.calls == [("all", [1]), ("all", [2])]
    assert balanced(pipeline)


def test_no_sender_is_counted_after_close() -> None:
    transport = FakeTransport()
    pipeline = make(transport, flush_interval=0.01)
    pipeline.put(Note("a", 0))
    assert pipeline.flush(timeout=10)
    assert pipeline.stats().senders > 0  # threads deliver
    pipeline.close(10)
    assert pipeline.stats().senders == 0


def test_every_record_is_accounted_for_while_threads_put_and_close_runs() -> None:
    transport = FakeTransport()
    pipeline = make(transport, max_queue_size=1_000_000, flush_interval=0.01)
    accepted: list[int] = []
    go = threading.Barrier(4)

    def producer(m: int) -> None:
        go.wait()
        for n in range(m * 100_000, m * 100_000 + 100_000):
            try:
                pipeline.put(Note(f"g{n % 13}", n))
            except TrackerClosedError:
                return
            accepted.append(n)

    threads = [threading.Thread(target=producer, args=(m,)) for m in range(3)]
    for thread in threads:
        thread.start()
    go.wait()
    pipeline.flush(timeout=10)  # racing the producers: done or not, it must not disturb a count
    pipeline.close(None)
    for thread in threads:
        thread.join()
    stats = pipeline.stats()
    assert stats.tracked == stats.delivered == len(accepted)
    assert sorted(transport.delivered()) == sorted(accepted)


class FlakyTransport(FakeTransport):
    """Every call fails with ``error`` (retryable, or whatever it says)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error
        self.attempts = 0

    def send(self, key: str, records: Sequence[Note]) -> None:
        with self.lock:
            self.attempts += 1
        raise self.error


def test_retryable_failures_are_retried_then_fail_with_their_reason() -> None:
    transport = FlakyTransport(
        SendError("ThrottlingException", "slow down", retryable=True, throttled=True)
    )
    failures: list[FailedEvent] = []
    pipeline = make(transport, failures, max_attempts=3, max_backoff=0.001, sync=True)
    for n in range(3):
        pipeline.put(Note("a", n))
    pipeline.close(None)
    # sync: track() made one attempt (the batch stayed pending), close() then max_attempts
    assert transport.attempts == 1 + 3
    assert {(f.reason.value, f.error_code) for f in failures} == {
        ("retries_exhausted", "ThrottlingException")
    }
    stats = pipeline.stats()
    assert (stats.failed, stats.requests, stats.retried) == (3, 4, 2)


def test_a_full_queue_drops_with_a_reason() -> None:
    failures: list[FailedEvent] = []
    pipeline = make(FakeTransport(), failures, max_queue_size=2, sync=True, flush_interval=3600)
    for n in range(3):
        pipeline.put(Note(f"g{n}", n))  # three groups, none full: the third does not fit
    assert [(f.event.n, f.reason.value) for f in failures] == [(2, "queue_full")]
    stats = pipeline.stats()
    assert (stats.tracked, stats.dropped, stats.pending) == (3, 1, 2)
    pipeline.close(None)
    assert balanced(pipeline)


def test_an_interrupted_send_on_the_callers_thread_leaves_its_batch_pending() -> None:
    failures: list[FailedEvent] = []
    transport = FlakyTransport(KeyboardInterrupt())
    pipeline = make(transport, failures, sync=True)
    pipeline.put(Note("a", 0))
    pipeline.put(Note("a", 1))
    with pytest.raises(KeyboardInterrupt):
        pipeline.put(Note("a", 2))  # fills the batch: sent on this thread, interrupted
    assert not failures  # not failed: its call may have reached the service, or not
    assert pipeline.stats().pending == 3
    assert balanced(pipeline)
    transport.error = SendError("AccessDeniedException", "no", rejected=True)
    pipeline.close(None)  # the next close sends them again
    assert [(f.event.n, f.reason.value) for f in failures] == [
        (0, "rejected"),
        (1, "rejected"),
        (2, "rejected"),
    ]


def test_the_exit_flush_delivers_without_sender_threads_and_closes() -> None:
    transport = FakeTransport()
    pipeline = make(transport, flush_interval=3600, exit_timeout=5)
    pipeline.inbox.wanted = True  # no sender starts: the exit flush must deliver itself
    for n in range(4):
        pipeline.put(Note("a", n))
    pipeline.exit_flush()
    assert pipeline.closed
    assert transport.delivered() == [0, 1, 2, 3]
    assert not pipeline.pool.threads()  # each call ran on a helper bounded by exit_timeout
    pipeline.exit_flush()  # idempotent
    with pytest.raises(TrackerClosedError):
        pipeline.put(Note("a", 4))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def in_forked_child(child: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``child`` in a forked child and return what it returned (JSON through a pipe); the
    child leaves without exit handlers."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, json.dumps(child()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(text)
    return result


def test_a_forked_child_starts_empty_with_a_new_transport_and_never_sends_the_parents() -> None:
    parents = FakeTransport()
    built: list[FakeTransport] = []

    def rebuild() -> FakeTransport:
        built.append(FakeTransport())
        return built[-1]

    pipeline = Pipeline(
        Options(max_requests_per_second=None, flush_interval=3600),
        parents,
        CODEC,
        rebuild_transport=rebuild,
        on_fork=lambda: built.append(FakeTransport()) or None,
    )
    pipeline.put(Note("parent", 1))  # pending in the parent when it forks

    def child() -> dict[str, Any]:
        before = pipeline.stats()
        pipeline.put(Note("child", 2))
        pipeline.flush(timeout=10)
        return {
            "before": [before.tracked, before.pending],
            "hooks": len(built),
            "sent": built[-1].delivered(),
            "parents_sent": parents.delivered(),
        }

    report = in_forked_child(child)
    assert report == {"before": [0, 0], "hooks": 2, "sent": [2], "parents_sent": []}
    assert pipeline.flush(timeout=10)
    pipeline.close(None)
    assert parents.delivered() == [1]


# ---------------------------------------------------------------------------------------------
# a bad day


class DownFor(FakeTransport):
    """Answers 503 to the first ``down`` calls (an outage), then delivers; notes whether the
    pipeline reported the outage while it lasted."""

    def __init__(self, down: int) -> None:
        super().__init__()
        self.down = down
        self.failed_calls = 0
        self.pipeline: Pipeline[Note, str] | None = None
        self.saw_outage = False

    def send(self, key: str, records: Sequence[Note]) -> None:
        with self.lock:
            failing = self.failed_calls < self.down
            if failing:
                self.failed_calls += 1
        if failing:
            if self.pipeline is not None and self.pipeline.stats().outage:
                self.saw_outage = True
            raise SendError("ServiceUnavailable", "down", retryable=True)
        super().send(key, records)


def test_an_outage_keeps_blocked_records_instead_of_spending_their_attempts() -> None:
    # 300 failed calls, 4 senders, 4 attempts per batch: counted per batch, 75 batches would
    # fail retries_exhausted; as an outage, every record waits and is delivered.
    transport = DownFor(300)
    failures: list[FailedEvent] = []
    pipeline = make(
        transport,
        failures,
        max_attempts=4,
        max_backoff=0.002,
        max_queue_size=100,
        overflow="block",
        block_timeout=60,
        flush_interval=0.01,
    )
    transport.pipeline = pipeline
    for n in range(1000):
        pipeline.put(Note(f"g{n % 50}", n))
    assert pipeline.flush(timeout=60)
    pipeline.close(None)
    assert not failures
    assert sorted(transport.delivered()) == list(range(1000))
    assert transport.saw_outage
    assert not pipeline.stats().outage


def test_records_read_back_from_the_spool_fill_whole_batches(tmp_path: Path) -> None:
    # 1,000 groups interleaved (batches of 3): a chunk read back (1,000 records) holds one of
    # each. Grouped as fresh arrivals, the next chunks fill them before they are due; grouped
    # by their old track() time, each group was due at once and left with one record.
    transport = FakeTransport()
    transport.gate = threading.Event()  # the first call hangs: what does not fit spills
    pipeline = make(
        transport,
        max_queue_size=3000,
        overflow="spill",
        spool_path=tmp_path,
        max_workers=1,
        flush_interval=1.0,
    )
    for n in range(12_000):
        pipeline.put(Note(f"g{n % 1000}", n))
    assert pipeline.stats().spooled > 5000
    transport.gate.set()
    assert pipeline.flush(timeout=120)
    pipeline.close(None)
    assert sorted(transport.delivered()) == list(range(12_000))
    sizes = [len(numbers) for _, numbers in transport.calls]
    assert sum(sizes) / len(sizes) >= 2.5, sizes


def test_a_close_that_returns_with_calls_on_the_wire_leaves_them_to_the_exit_flush() -> None:
    from personalize_tracker import _lifecycle

    transport = FakeTransport()
    transport.gate = threading.Event()  # accepts, never answers (until the end of the test)
    failures: list[FailedEvent] = []
    pipeline = make(transport, failures, flush_interval=0.01, exit_timeout=0.2)
    try:
        for n in range(30):
            pipeline.put(Note(f"g{n % 3}", n))
        assert transport.started.acquire(timeout=10)  # a call is on the wire
        pipeline.close(timeout=0.2)
        assert _lifecycle.registered(pipeline)  # not forgotten: its calls are still under way
        pipeline.exit_flush()
        stats = pipeline.stats()
        assert stats.pending == 0
        assert balanced(pipeline)
        assert stats.failed == 30 == len(failures)  # every one accounted (reason closed)
        assert {f.reason.value for f in failures} == {"closed"}
    finally:
        transport.gate.set()


def test_a_second_close_finishes_what_an_interrupted_one_left() -> None:
    transport = FakeTransport()
    transport.gate = threading.Event()
    pipeline = make(transport, flush_interval=0.01)
    for n in range(30):
        pipeline.put(Note(f"g{n % 3}", n))
    assert transport.started.acquire(timeout=10)

    interrupt = threading.Timer(0.1, lambda: transport.gate.set())
    # close() is cut short by an exception raised inside its wait (as Ctrl-C would be)
    original = pipeline.idle.wait_for

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        pipeline.idle.wait_for = original  # type: ignore[method-assign]
        raise KeyboardInterrupt

    pipeline.idle.wait_for = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        pipeline.close(None)
    interrupt.start()
    pipeline.close(None)  # before: returned at once, with records still pending
    interrupt.join()
    assert sorted(transport.delivered()) == list(range(30))
    assert pipeline.stats().pending == 0


class DownAfterGate(FakeTransport):
    """Every call fails as an outage does (503), each once ``answer`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = threading.Event()

    def send(self, key: str, records: Sequence[Note]) -> None:
        self.started.release()
        assert self.answer.wait(10)
        with self.lock:
            self.calls.append((key, []))
        raise SendError("ServiceUnavailable", "down", retryable=True)


def test_a_second_close_waits_for_the_call_left_on_the_wire_without_retrying_it() -> None:
    transport = DownAfterGate()
    failures: list[FailedEvent] = []
    pipeline = make(
        transport, failures, max_workers=1, flush_interval=3600, max_attempts=1000, max_backoff=0.01
    )
    for n in range(3):
        pipeline.put(Note("a", n))  # a full batch: its call waits for ``answer``
    assert transport.started.acquire(timeout=10)
    pipeline.close(timeout=0.05)  # returns with the call still on the wire
    assert pipeline.stats().pending == 3

    original = pipeline.idle.wait_for

    def answer_then_wait(*args: Any, **kwargs: Any) -> Any:
        transport.answer.set()  # the call fails once the second close() waits for it
        return original(*args, **kwargs)

    pipeline.idle.wait_for = answer_then_wait  # type: ignore[method-assign]
    pipeline.close(timeout=5)  # before: its retry waits began again, retrying for 5 s
    assert len(transport.calls) == 1
    assert [f.reason.value for f in failures] == ["closed"] * 3  # no spool: reason closed
    assert pipeline.stats().pending == 0
    assert balanced(pipeline)


def test_sync_flush_returns_by_its_timeout_and_keeps_the_rest_pending() -> None:
    transport = DownFor(10**9)  # down for good
    failures: list[FailedEvent] = []
    pipeline = make(transport, failures, sync=True, max_backoff=0.05, flush_interval=3600)
    for n in range(25):
        pipeline.put(Note("a", n))  # a full batch: one attempt (no wait), then it stays pending
    assert transport.failed_calls >= 2
    assert not pipeline.flush(timeout=0.3)
    stats = pipeline.stats()
    assert stats.pending == 25
    assert not failures
    assert balanced(pipeline)
    transport.down = 0
    assert pipeline.flush(timeout=10)
    assert sorted(transport.delivered()) == list(range(25))
    pipeline.close(None)


def lines_of(function: Any) -> list[int]:
    """The line numbers of ``function``'s code."""
    return sorted({line for _, _, line in function.__code__.co_lines() if line is not None})


def interrupted_at(function: Any, line: int, call: Any) -> None:
    """Run ``call()``, raising ``KeyboardInterrupt`` (as Ctrl-C would) when ``function`` first
    reaches ``line``; swallow it."""
    import sys

    code, hit = function.__code__, []

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code is code:
            if event == "line" and frame.f_lineno == line and not hit:
                hit.append(line)
                raise KeyboardInterrupt
            return tracer
        return tracer if event == "call" else None

    sys.settrace(tracer)
    try:
        call()
    except KeyboardInterrupt:
        pass
    finally:
        sys.settrace(None)


def test_put_never_leaves_the_lock_held_whichever_line_an_interrupt_hits(tmp_path: Path) -> None:
    pipeline = make(FakeTransport(), overflow="spill", spool_path=tmp_path, flush_interval=3600)
    put_locked = Pipeline._put_locked
    for target in lines_of(put_locked):
        interrupted_at(put_locked, target, lambda target=target: pipeline.put(Note("a", target)))
        assert not pipeline.lock.locked(), f"lock left held by an interrupt at line {target}"
    pipeline.close(None)


def test_on_delivered_sees_the_delivered_records_only_and_before_a_flush_returns() -> None:
    transport = FakeTransport(invalid=frozenset({4}))
    seen: list[int] = []
    pipeline = Pipeline(
        Options(max_requests_per_second=None, max_workers=2),
        transport,
        CODEC,
        on_failure=lambda failed: None,
        on_delivered=lambda records: seen.extend(note.n for note in records),
    )
    for n in range(6):
        pipeline.put(Note("a", n))
    assert pipeline.flush(timeout=10)
    assert sorted(seen) == [0, 1, 2, 3, 5]  # not the failed one
    pipeline.close(None)


def test_sync_flush_delivers_what_the_spool_holds(tmp_path: Path) -> None:
    transport = FakeTransport()
    pipeline = make(
        transport,
        sync=True,
        max_queue_size=5,
        overflow="spill",
        spool_path=tmp_path,
        flush_interval=3600,
    )
    for n in range(40):
        pipeline.put(Note(f"g{n % 7}", n))
    assert pipeline.stats().spooled > 0
    assert pipeline.flush(timeout=30)  # before: False at its timeout (None: forever)
    assert sorted(transport.delivered()) == list(range(40))
    pipeline.close(None)


def test_ctrl_c_while_close_writes_the_spool_keeps_the_rest_pending(tmp_path: Path) -> None:
    from personalize_tracker._outcomes import spool as spool_module

    transport = FakeTransport()
    transport.gate = threading.Event()  # the endpoint hangs: close() spools what is left
    pipeline = make(transport, overflow="spill", spool_path=tmp_path, flush_interval=3600)
    for n in range(30):
        pipeline.put(Note(f"g{n % 10}", n))
    real = spool_module.Spool._write_line
    lines = []

    def interrupted(self: Any, line: bytes) -> None:
        lines.append(line)
        if len(lines) == 6:
            raise KeyboardInterrupt  # Ctrl-C while the 6th line is written
        real(self, line)

    spool_module.Spool._write_line = interrupted  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            pipeline.close(0.2)
    finally:
        spool_module.Spool._write_line = real  # type: ignore[method-assign]
    assert balanced(pipeline)  # before: 25 events had no outcome at all
    pipeline.close(0.2)
    stats = pipeline.stats()
    assert (stats.tracked, stats.pending, stats.failed) == (30, 30, 0)
    assert stats.spooled > 5  # the second close wrote the rest (the others are on the wire)
    transport.gate.set()


def test_close_finishes_after_an_interrupt_at_any_line_of_a_first_close() -> None:
    from personalize_tracker._pipeline.closing import Closing

    for target in lines_of(Closing.close):
        transport = FakeTransport()
        pipeline = make(transport, flush_interval=3600)
        for n in range(5):
            pipeline.put(Note("a", n))
        interrupted_at(Closing.close, target, lambda pipeline=pipeline: pipeline.close(5))
        pipeline.close(5)  # before: after an interrupt between the flag and its try, it waited
        assert sorted(transport.delivered()) == list(range(5)), f"interrupted at line {target}"
        assert pipeline.stats().pending == 0


def test_the_codec_watches_the_groups_held_in_this_process() -> None:
    # Codec.watch: the key function may ask whether a key's group holds a record already (the
    # session table keeps a session from its second event); a forked child hands in its own.
    watched: list[Any] = []
    codec: Codec[Note, str] = Codec(
        key=CODEC.key,
        batch_size=3,
        encode=CODEC.encode,
        decode=CODEC.decode,
        letter=CODEC.letter,
        record_id=CODEC.record_id,
        watch=watched.append,
    )
    options = Options(max_requests_per_second=None, flush_interval=3600)
    pipeline = Pipeline(options, FakeTransport(), codec)
    assert len(watched) == 1
    pipeline.put(Note("a", 1))  # pending in the parent when it forks

    def child() -> dict[str, Any]:  # a buffer of its own, the one its key function now reads
        pipeline.put(Note("b", 2))  # no sender collects yet: taken in on this thread
        return {"watched": len(watched), "a": "a" in watched[-1], "b": "b" in watched[-1]}

    report = in_forked_child(child)
    assert report == {"watched": 2, "a": False, "b": True}
    assert pipeline.flush(timeout=10)
    pipeline.close(None)
