"""Regressions found in review: each reproduces a scenario that once lost or stranded events."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from personalize_tracker import Event, FailedEvent, Tracker, TrackerClosedError
from personalize_tracker._pipeline import EventPipeline

from conftest import FakeClient, client_error, event_pipeline_of


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll a condition that has no event to wait on (another thread reaching a wait)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.002)
    return True


def balanced(tracker: Tracker | EventPipeline) -> bool:
    s = tracker.stats()
    return s.tracked == s.delivered + s.failed + s.dropped + s.pending


def test_close_while_track_blocks_for_room(fake_client: FakeClient) -> None:
    # (On the Tracker's pipeline, whose admission says when a caller waits for room.)
    pipeline = event_pipeline_of(
        fake_client,
        max_queue_size=2,
        max_workers=1,
        flush_interval=3600,
        overflow="block",
        block_timeout=30,
        max_requests_per_second=None,
    )
    pipeline.put(Event.create("click", "s-1"))
    pipeline.put(Event.create("click", "s-2"))  # full, and nothing is due for an hour
    outcome: dict[str, object] = {}

    def blocked() -> None:
        try:
            pipeline.put(Event.create("click", "s-3"))
            outcome["result"] = "accepted"
        except TrackerClosedError as exc:
            outcome["result"] = exc

    thread = threading.Thread(target=blocked)
    thread.start()
    assert wait_until(lambda: pipeline.admission.waiting == 1)
    assert balanced(pipeline)  # the waiting event is not counted yet
    pipeline.close(timeout=0)
    thread.join(10)
    assert isinstance(outcome["result"], TrackerClosedError)
    stats = pipeline.stats()
    assert (stats.tracked, stats.pending) == (2, 0)
    assert balanced(pipeline)


def test_blocked_callers_all_wake_when_a_batch_frees_room(fake_client: FakeClient) -> None:
    fake_client.gate = threading.Event()  # the one sender holds whatever it takes
    pipeline = event_pipeline_of(
        fake_client,
        max_queue_size=10,
        max_workers=1,
        flush_interval=3600,
        overflow="block",
        block_timeout=30,
        max_requests_per_second=None,
    )
    for n in range(9):  # 9 of one session: not a full batch
        pipeline.put(Event.create("click", "s-a", item_id=f"i-{n}"))
    pipeline.put(Event.create("click", "s-b"))  # the queue is full; nothing due for an hour
    waiters = [
        threading.Thread(target=pipeline.put, args=(Event.create("view", f"w-{n}"),))
        for n in range(5)
    ]
    for waiter in waiters:
        waiter.start()
    assert wait_until(lambda: pipeline.admission.waiting == 5)
    pipeline.flush(timeout=0.01)  # the sender takes the 9 events of s-a: room for 9 callers
    for waiter in waiters:
        waiter.join(5)  # all five get in, long before their 30 s block_timeout
        assert not waiter.is_alive()
    fake_client.gate.set()
    pipeline.close(None)
    stats = pipeline.stats()
    assert (stats.delivered, stats.dropped) == (15, 0)


def test_an_unreadable_spool_line_is_counted_not_fatal(
    fake_client: FakeClient, tmp_path: Path
) -> None:
    orphan = tmp_path / "spool" / "99999-deadbeef"
    orphan.mkdir(parents=True)
    good = Event("click", "s-1", 1714564800.0, "e-good").to_dict()
    good["trackedAt"] = time.time()
    (orphan / "events.jsonl").write_text("null\n" + json.dumps(good) + "\n")
    tracker = Tracker("t", client=fake_client, overflow="spill", spool_path=tmp_path / "spool")
    assert tracker.stats().recovered == 2
    assert tracker.flush(timeout=10)
    tracker.close(timeout=10)
    stats = tracker.stats()
    assert (stats.delivered, stats.failed_by_reason) == (1, {"error": 1})
    assert balanced(tracker)
    assert [e["eventId"] for e in fake_client.delivered_events] == ["e-good"]


def test_event_age_counts_from_track_for_spooled_events(
    fake_client: FakeClient, tmp_path: Path
) -> None:
    fake_client.gate = threading.Event()
    tracker = Tracker(
        "t",
        client=fake_client,
        overflow="spill",
        spool_path=tmp_path,
        max_queue_size=10,
        max_workers=1,
        max_event_age=0.3,
        flush_interval=0.01,
        max_requests_per_second=None,
    )
    for _ in range(10):
        tracker.track("click", "held")  # a full batch, held in flight by the gate
    assert fake_client.wait_for_started(1)
    for n in range(30):
        tracker.track("click", f"s-{n}")  # 10 in memory, 20 on disk
    assert tracker.stats().spooled == 20
    threading.Event().wait(0.5)  # every event is now older than max_event_age
    fake_client.gate.set()
    assert tracker.flush(timeout=30)
    tracker.close()
    # the held batch was sent before it expired; all 30 others expired, spooled or not
    assert tracker.stats().failed_by_reason == {"expired": 30}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs libc fork()")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("how", ["fork_check=True", "under uWSGI"])
def test_fork_without_python_hooks_gets_fresh_event_ids(
    fake_client: FakeClient, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "under uWSGI":  # uWSGI embeds its own ``uwsgi`` module: the check turns itself on
        monkeypatch.setitem(sys.modules, "uwsgi", types.ModuleType("uwsgi"))
        tracker = Tracker("t", client=fake_client, sync=True)
    else:
        tracker = Tracker("t", client=fake_client, sync=True, fork_check=True)
    tracker.track("warmup", "s-0")
    libc = ctypes.CDLL(None)
    read_end, write_end = os.pipe()
    children = []
    for n in range(2):
        pid = libc.fork()  # a C fork, as uWSGI does: os.register_at_fork hooks do not run
        if pid == 0:
            event = tracker.track("click", f"child-{n}")
            os.write(write_end, (event.event_id + "\n").encode())
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    os.close(write_end)
    ids = os.read(read_end, 4096).decode().split()
    os.close(read_end)
    parent_prefix = tracker.track("click", "s-parent").event_id.rsplit("-", 1)[0]
    prefixes = {i.rsplit("-", 1)[0] for i in ids}
    assert len(ids) == 2
    assert len(prefixes) == 2
    assert parent_prefix not in prefixes
    tracker.close()


@pytest.mark.slow
def test_a_call_on_the_wire_at_exit_is_spooled_not_lost(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import threading
        from personalize_tracker import Tracker

        release = threading.Event()
        on_wire = threading.Event()

        class SlowClient:
            def put_events(self, **params):
                on_wire.set()
                release.wait(60)  # an endpoint that answers far too late
                return {{}}

        tracker = Tracker("t", client=SlowClient(), exit_timeout=0.2, flush_interval=0.01,
                          overflow="spill", spool_path={str(tmp_path / "spool")!r})
        tracker.track("click", "s-1")
        on_wire.wait(10)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = [
        line
        for path in (tmp_path / "spool").glob("*/events.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert len(lines) == 1
    assert json.loads(lines[0])["sessionId"] == "s-1"


def test_flush_ends_under_steady_traffic_and_covers_what_came_before(
    fake_client: FakeClient,
) -> None:
    tracker = Tracker(
        "t",
        client=fake_client,
        flush_interval=3600,
        max_queue_size=5_000,  # full at times: the producer outruns the senders
        overflow="block",  # so that none of ``mine`` is dropped when they come at a full queue
        max_requests_per_second=None,
        on_failure=lambda failed: None,
    )
    stop = threading.Event()

    def steady_traffic() -> None:
        n = 0
        while not stop.is_set():
            tracker.track("view", f"other-{n % 50}")
            n += 1

    producer = threading.Thread(target=steady_traffic)
    producer.start()
    try:
        mine = {tracker.track("click", f"mine-{n % 3}").event_id for n in range(25)}
        assert tracker.flush(timeout=None) is True  # returns although traffic goes on
        delivered = {e["eventId"] for e in fake_client.delivered_events}
        assert mine <= delivered
        assert not stop.is_set()
    finally:
        stop.set()
        producer.join(10)
    tracker.close()
    assert balanced(tracker)


def test_ctrl_c_during_a_split_keeps_what_was_delivered(fake_client: FakeClient) -> None:
    calls: list[int] = []

    def script(params: dict[str, object]) -> Exception | None:
        calls.append(1)
        if len(calls) == 1:
            return client_error("InvalidInputException", 400, "bad event")
        if len(calls) == 2:
            return None  # the first half is delivered
        raise KeyboardInterrupt  # Ctrl-C while the second half is sent

    fake_client.script = script
    failed: list[FailedEvent] = []
    tracker = Tracker(
        "t", client=fake_client, sync=True, max_requests_per_second=None, on_failure=failed.extend
    )
    for _ in range(9):
        tracker.track("click", "s-1")
    with pytest.raises(KeyboardInterrupt):
        tracker.track("click", "s-1")  # the tenth fills the batch: sync mode sends it here
    stats = tracker.stats()
    assert len(fake_client.delivered_events) == stats.delivered == 5
    # the interrupted half stays pending (its call may or may not have reached the service)
    assert stats.pending == 5
    assert not failed
    assert balanced(tracker)


def test_flush_waits_for_batches_already_on_the_wire(fake_client: FakeClient) -> None:
    fake_client.gate = threading.Event()
    tracker = Tracker("t", client=fake_client, max_requests_per_second=None)
    for n in range(10):
        tracker.track("click", "s-1", item_id=f"i-{n}")  # a full batch: taken at once
    assert fake_client.wait_for_started(1)  # on the wire, held by the gate
    assert tracker.flush(timeout=0.2) is False  # those 10 are pending: not done
    fake_client.gate.set()
    assert tracker.flush(timeout=10) is True
    assert tracker.stats().delivered == 10
    tracker.close()


def test_flush_forces_events_recovered_from_a_spool_before_any_track(
    fake_client: FakeClient, tmp_path: Path
) -> None:
    orphan = tmp_path / "spool" / "99999-feedface"
    orphan.mkdir(parents=True)
    lines = []
    for n in range(13):  # one session of 13: a full batch and 3 more
        record = Event("click", "s-1", 1714564800.0, f"e-{n}", user_id="u-1").to_dict()
        record["trackedAt"] = time.time()
        lines.append(json.dumps(record))
    (orphan / "events.jsonl").write_text("\n".join(lines) + "\n")
    tracker = Tracker(
        "t",
        client=fake_client,
        flush_interval=3600,
        overflow="spill",
        spool_path=tmp_path / "spool",
    )
    assert tracker.stats().recovered == 13
    assert tracker.flush(timeout=10) is True  # no sender thread yet: this thread delivers all
    assert tracker.stats().delivered == 13
    tracker.close()


def test_flush_on_one_thread_ends_when_close_on_another_spools_the_rest(
    fake_client: FakeClient, tmp_path: Path
) -> None:
    fake_client.gate = threading.Event()
    pipeline = event_pipeline_of(
        fake_client,
        max_workers=1,
        flush_interval=3600,
        max_queue_size=10,
        overflow="spill",
        spool_path=tmp_path,
        max_requests_per_second=None,
    )
    for n in range(10):  # a full batch, held on the wire
        pipeline.put(Event.create("click", "s-0", item_id=f"i-{n}"))
    assert fake_client.wait_for_started(1)
    for n in range(15):  # 10 queued, 5 spooled
        pipeline.put(Event.create("click", "s-1", item_id=f"j-{n}"))
    result: dict[str, bool] = {}
    flusher = threading.Thread(target=lambda: result.setdefault("ok", pipeline.flush(None)))
    flusher.start()
    assert wait_until(lambda: pipeline.wire.flush_waiters == 1)
    pipeline.close(timeout=0.2)  # the queue goes to the spool
    fake_client.gate.set()
    flusher.join(10)
    assert not flusher.is_alive()
    assert result == {"ok": False}  # events remain, on disk
    assert balanced(pipeline)


def test_no_busy_wait_once_the_buffer_is_empty() -> None:
    from personalize_tracker._intake.buffer import GroupBuffer

    buffer: GroupBuffer[tuple[str, str], int] = GroupBuffer(batch_size=2, flush_interval=1.0)
    buffer.add(("u", "s"), 1, now=0.0)
    buffer.add(("u", "s"), 2, now=0.0)  # full: its key is queued as ready
    buffer.force_pending()
    assert buffer.take(0.0) is not None  # taken as forced: the full key is now stale
    assert buffer.seconds_until_due(0.0) is None  # nothing to wait for, not "0: ready now"
