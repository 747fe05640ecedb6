"""Delivery guarantees: overflow policies, spool, dead letters, rate limit, event age, Lambda."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from personalize_tracker import Event, FailedEvent, Tracker, flush_after
from personalize_tracker._tools.deadletters import BadLine, DeadLetter, read_dead_letters

from conftest import FakeClient, client_error, connection_error, event_pipeline_of, throttled


def balanced(tracker: Tracker) -> bool:
    s = tracker.stats()
    return s.tracked == s.delivered + s.failed + s.dropped + s.pending


class Outage:
    """A client script: every call fails with a connection error while ``down`` is set."""

    def __init__(self) -> None:
        self.down = threading.Event()
        self.down.set()

    def __call__(self, params: dict[str, Any]) -> Exception | None:
        return connection_error() if self.down.is_set() else None


def collecting() -> tuple[list[FailedEvent], Any]:
    failed: list[FailedEvent] = []
    lock = threading.Lock()

    def on_failure(events: Sequence[FailedEvent]) -> None:
        with lock:
            failed.extend(events)

    return failed, on_failure


# -- overflow="block" ----------------------------------------------------------------------------


def test_block_waits_for_room_instead_of_dropping(fake_client: FakeClient) -> None:
    fake_client.gate = threading.Event()  # the endpoint holds every call until opened
    tracker = Tracker(
        "t",
        client=fake_client,
        max_queue_size=2,
        max_workers=1,
        flush_interval=3600,
        overflow="block",
        block_timeout=30,
    )
    tracker.track("click", "s-1")
    tracker.track("click", "s-2")  # the queue is full now
    producer = threading.Thread(target=tracker.track, args=("click", "s-3"))
    producer.start()
    fake_client.gate.set()
    assert tracker.flush(timeout=30)  # makes room: the blocked track() gets in and is sent
    producer.join(30)
    assert not producer.is_alive()
    tracker.close()
    stats = tracker.stats()
    assert (stats.tracked, stats.delivered, stats.dropped) == (3, 3, 0)


def test_block_gives_up_after_block_timeout(fake_client: FakeClient) -> None:
    failed, on_failure = collecting()
    tracker = Tracker(
        "t",
        client=fake_client,
        max_queue_size=1,
        flush_interval=3600,
        overflow="block",
        block_timeout=0.05,
        on_failure=on_failure,
    )
    tracker.track("click", "s-1")
    late = tracker.track("click", "s-2")  # nothing frees room within 50 ms
    assert [(f.event, f.reason.value) for f in failed] == [(late, "queue_full")]
    assert tracker.stats().dropped == 1
    tracker.close()
    assert balanced(tracker)


def test_block_in_sync_mode_delivers_on_the_callers_thread(fake_client: FakeClient) -> None:
    tracker = Tracker(
        "t",
        client=fake_client,
        sync=True,
        max_queue_size=3,
        flush_interval=3600,
        overflow="block",
    )
    for n in range(10):
        tracker.track("click", f"s-{n}")
    stats = tracker.stats()
    assert stats.dropped == 0
    assert stats.pending <= 3
    assert stats.delivered == 10 - stats.pending
    tracker.close()
    assert tracker.stats().delivered == 10


# -- overflow="spill" ----------------------------------------------------------------------------


def test_spill_survives_an_outage_with_bounded_memory(
    fake_client: FakeClient, tmp_path: Path
) -> None:
    outage = Outage()
    fake_client.script = outage
    tracker = Tracker(
        "t",
        client=fake_client,
        max_queue_size=20,
        max_workers=2,
        flush_interval=0.01,
        overflow="spill",
        spool_path=tmp_path / "spool",
        max_attempts=10_000,
        retry_deadline=600,
        max_backoff=0.01,
    )
    ids = []
    for n in range(600):
        ids.append(tracker.track("view", f"s-{n % 60}", f"u-{n % 60}", f"i-{n}").event_id)
        stats = tracker.stats()
        in_memory = stats.pending - stats.spooled
        assert in_memory <= 20 + 2 * 10  # the queue, plus a batch in flight per sender
    assert tracker.stats().spooled > 400  # most of it waited on disk
    outage.down.clear()  # the endpoint recovers
    assert tracker.flush(timeout=60)
    tracker.close()
    stats = tracker.stats()
    assert (stats.delivered, stats.failed, stats.dropped, stats.pending) == (600, 0, 0, 0)
    sent = [e["eventId"] for e in fake_client.delivered_events]
    assert sorted(sent) == sorted(ids)  # each exactly once
    assert not list((tmp_path / "spool").iterdir())  # an empty spool leaves nothing behind


def test_spool_left_at_close_is_delivered_by_the_next_process(
    fake_client: FakeClient, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    outage = Outage()
    fake_client.script = outage
    first = Tracker(
        "t",
        client=fake_client,
        max_queue_size=5,
        flush_interval=3600,
        overflow="spill",
        spool_path=spool,
        max_attempts=10_000,
        retry_deadline=600,
        max_backoff=0.01,
    )
    ids = {first.track("view", f"s-{n}").event_id for n in range(40)}
    first.close(timeout=0.2)  # the endpoint is still down
    first.close(timeout=10)  # waits for a call left on the wire (slow machine), not retrying it
    stats = first.stats()
    assert stats.failed == 0
    assert stats.pending == stats.spooled == 40  # nothing lost: all of it on disk

    outage.down.clear()
    second = Tracker("t", client=fake_client, overflow="spill", spool_path=spool)
    assert second.stats().recovered == 40
    assert second.flush(timeout=30)
    second.close()
    assert second.stats().delivered == 40
    assert {e["eventId"] for e in fake_client.delivered_events} == ids


def test_spill_needs_a_spool_path(fake_client: FakeClient) -> None:
    with pytest.raises(ValueError, match="spool_path"):
        Tracker("t", client=fake_client, overflow="spill")
    with pytest.raises(ValueError, match="overflow"):
        Tracker("t", client=fake_client, overflow="wait")  # type: ignore[arg-type]


# -- dead letters --------------------------------------------------------------------------------


def test_dead_letters_record_every_failure(fake_client: FakeClient, tmp_path: Path) -> None:
    path = tmp_path / "dead" / "letters.jsonl"
    fake_client.script = lambda p: (
        client_error("InvalidInputException", 400, "bad event")
        if any(e.get("itemId") == "bad" for e in p["eventList"])
        else None
    )
    failed, on_failure = collecting()
    with Tracker(
        "t",
        client=fake_client,
        dead_letter_path=path,
        max_queue_size=3,
        flush_interval=3600,
        on_failure=on_failure,
    ) as tracker:
        bad = tracker.track("click", "s-1", "u-1", "bad", properties={"DEVICE": "ios"})
        tracker.track("click", "s-1", "u-1", "good")
        tracker.track("click", "s-2")
        dropped = tracker.track("click", "s-3")  # queue full
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == len(failed) == 2
    by_reason = {line["reason"]: line for line in lines}
    assert set(by_reason) == {"invalid", "queue_full"}
    invalid = by_reason["invalid"]
    assert invalid["errorCode"] == "InvalidInputException"
    assert invalid["message"] == "bad event"
    assert (invalid["trackingId"], invalid["sessionId"], invalid["userId"]) == ("t", "s-1", "u-1")
    assert invalid["event"] == bad.to_put_events()
    assert by_reason["queue_full"]["event"]["eventId"] == dropped.event_id


def test_dead_letter_reader_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "letters.jsonl"
    good = {
        "failedAt": 1.0,
        "reason": "retries_exhausted",
        "errorCode": "ThrottlingException",
        "message": "slow down",
        "trackingId": "t",
        "sessionId": "s",
        "userId": None,
        "event": {"eventId": "e-1", "eventType": "click", "sentAt": 1714564800.5},
    }
    path.write_text(json.dumps(good) + "\n" + json.dumps(good)[:40])  # a crash mid-write
    letters = list(read_dead_letters(path))
    assert isinstance(letters[0], DeadLetter)
    assert letters[0].event.event_id == "e-1"
    assert letters[0].event.sent_at == 1714564800.5
    assert not letters[0].invalid
    assert isinstance(letters[1], BadLine)
    assert letters[1].line == 2


# -- rate limit ----------------------------------------------------------------------------------


class QuotaClient(FakeClient):
    """Throttles calls beyond ``rate`` per second (a sliding one-second window, real time)."""

    def __init__(self, rate: int) -> None:
        super().__init__()
        self.rate = rate
        self.window: list[float] = []

        def script(params: dict[str, Any]) -> Exception | None:
            import time

            now = time.monotonic()
            self.window = [t for t in self.window if now - t < 1.0]
            if len(self.window) >= self.rate:
                return throttled()
            self.window.append(now)
            return None

        self.script = script


@pytest.mark.slow
def test_rate_limit_converges_under_sustained_throttling() -> None:
    client = QuotaClient(rate=150)
    # The Tracker's pipeline, whose sender shows the rate limiter's state.
    pipeline = event_pipeline_of(
        client,
        max_requests_per_second=600,
        flush_interval=0.01,
        max_attempts=50,
        max_backoff=0.05,
        retry_deadline=60,
        max_queue_size=1000,
    )
    for n in range(300):  # one event per session: 300 calls, 2 s of quota
        pipeline.put(Event.create("view", f"s-{n}"))
    assert pipeline.flush(timeout=60)
    pipeline.close(None)
    stats = pipeline.stats()
    assert (stats.delivered, stats.failed) == (300, 0)
    limiter = pipeline.sender.limiter
    assert limiter is not None
    assert limiter.throttled > 0
    assert limiter.rate < 400  # came down from 600 towards the quota
    assert stats.retried < stats.delivered  # retries stayed bounded


# -- max_event_age -------------------------------------------------------------------------------


def test_events_expire_instead_of_retrying_forever(fake_client: FakeClient) -> None:
    fake_client.script = lambda p: throttled()
    failed, on_failure = collecting()
    tracker = Tracker(
        "t",
        client=fake_client,
        max_event_age=0.2,
        max_attempts=10_000,
        retry_deadline=600,
        max_backoff=0.02,
        max_requests_per_second=None,
        on_failure=on_failure,
    )
    event = tracker.track("click", "s-1")
    assert tracker.flush(timeout=30)
    tracker.close()
    assert [(f.event, f.reason.value) for f in failed] == [(event, "expired")]
    assert tracker.stats().failed_by_reason == {"expired": 1}


def test_fresh_events_are_not_expired(fake_client: FakeClient) -> None:
    with Tracker("t", client=fake_client, max_event_age=60) as tracker:
        tracker.track("click", "s-1")
    assert tracker.stats().delivered == 1


# -- serverless ----------------------------------------------------------------------------------


def test_flush_after_delivers_before_the_handler_returns(fake_client: FakeClient) -> None:
    tracker = Tracker("t", client=fake_client, flush_interval=3600)

    @flush_after(tracker, timeout=10)
    def handler(event: dict[str, str], context: object) -> str:
        tracker.track("purchase", event["session"], item_id="i-1")
        return "ok"

    assert handler({"session": "s-1"}, None) == "ok"
    assert tracker.stats().delivered == 1

    def failing_block() -> None:
        with flush_after(tracker):
            tracker.track("view", "s-2")
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        failing_block()
    assert tracker.stats().delivered == 2  # flushed on the way out of a failing handler too
    tracker.close()
