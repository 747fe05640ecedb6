"""The Tracker's batching, retries, poison isolation, accounting and lifecycle (scripted client)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from personalize_tracker import (
    Event,
    FailedEvent,
    FailureReason,
    InvalidEventError,
    Tracker,
    TrackerClosedError,
    TrackerStats,
)

from conftest import FakeClient, client_error, connection_error, throttled


def balanced(stats: TrackerStats) -> bool:
    return stats.tracked == stats.delivered + stats.failed + stats.dropped + stats.pending


class Failures:
    """An on_failure handler that keeps what it is given."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[FailedEvent] = []

    def __call__(self, failed: Sequence[FailedEvent]) -> None:
        with self.lock:
            self.items.extend(failed)

    def reasons(self) -> list[str]:
        return [f.reason.value for f in self.items]


@pytest.fixture
def failures() -> Failures:
    return Failures()


def make_tracker(client: FakeClient, **kwargs: Any) -> Tracker:
    options: dict[str, Any] = {"flush_interval": 60.0, "max_backoff": 0.01}
    options.update(kwargs)
    return Tracker("tracking-1", client=client, **options)


# -- batching ------------------------------------------------------------------------------------


def test_events_of_one_session_go_in_batches_of_ten_in_order(fake_client: FakeClient) -> None:
    with make_tracker(fake_client) as tracker:
        events = [tracker.track("click", "s-1", "u-1", f"i-{n}") for n in range(25)]
        assert fake_client.wait_for_accepted_events(20)  # two full batches go at once
        assert tracker.flush(timeout=10)
    sizes = [len(call["eventList"]) for call in fake_client.accepted]
    assert sizes == [10, 10, 5]
    sent_ids = [e["eventId"] for e in fake_client.delivered_events]
    assert sent_ids == [e.event_id for e in events]
    for call in fake_client.accepted:
        assert call["trackingId"] == "tracking-1"
        assert call["sessionId"] == "s-1"
        assert call["userId"] == "u-1"


def test_user_and_session_pairs_get_their_own_calls(fake_client: FakeClient) -> None:
    with make_tracker(fake_client) as tracker:
        tracker.track("view", "s-1")  # anonymous
        tracker.track("view", "s-1", "u-1")  # same session after login
        tracker.track("view", "s-2", "u-1")
        assert tracker.flush(timeout=10)
    keys = sorted((c.get("userId") or "", c["sessionId"]) for c in fake_client.accepted)
    assert keys == [("", "s-1"), ("u-1", "s-1"), ("u-1", "s-2")]
    anonymous = next(c for c in fake_client.accepted if "userId" not in c)
    assert anonymous["sessionId"] == "s-1"


def test_partial_batch_waits_for_flush_interval(fake_client: FakeClient) -> None:
    with make_tracker(fake_client, flush_interval=0.05) as tracker:
        tracker.track("click", "s-1", item_id="i")
        # no flush() call: the sender sends it once it has waited flush_interval
        assert fake_client.wait_for_accepted_events(1, timeout=10)
        assert tracker.stats().delivered == 1 or fake_client.wait_for_accepted_events(1)


def test_partial_batch_is_held_until_flush(fake_client: FakeClient) -> None:
    with make_tracker(fake_client, flush_interval=3600) as tracker:
        tracker.track("click", "s-1", item_id="i")
        assert not fake_client.wait_for_accepted_events(1, timeout=0.2)
        assert tracker.stats().pending == 1
        assert tracker.flush(timeout=10)
        assert tracker.stats().delivered == 1


def test_track_returns_the_event_it_queued(fake_client: FakeClient) -> None:
    with make_tracker(fake_client) as tracker:
        event = tracker.track("rate", "s", "u", "i", event_value=4, properties={"DEVICE": "tv"})
        tracker.flush(timeout=10)
    (sent,) = fake_client.delivered_events
    assert sent["eventId"] == event.event_id
    assert sent["eventValue"] == 4.0
    assert sent["properties"] == '{"device":"tv"}'
    assert sent["sentAt"] == event.sent_at


def test_invalid_event_raises_and_is_not_counted(fake_client: FakeClient) -> None:
    with make_tracker(fake_client) as tracker:
        with pytest.raises(InvalidEventError, match="recommendation_id"):
            tracker.track("click", "s", recommendation_id="r" * 41)
        assert tracker.stats().tracked == 0


# -- retries -------------------------------------------------------------------------------------


def test_throttling_is_retried_then_delivered(fake_client: FakeClient) -> None:
    fake_client.faults = [throttled(), client_error("InternalServerError", 500), connection_error()]
    with make_tracker(fake_client) as tracker:
        tracker.track("click", "s-1")
        assert tracker.flush(timeout=10)
        stats = tracker.stats()
    assert (stats.delivered, stats.failed, stats.requests, stats.retried) == (1, 0, 4, 3)
    # every attempt sent the same eventId: a retry is harmless to training
    assert len({c["eventList"][0]["eventId"] for c in fake_client.calls}) == 1


@pytest.mark.parametrize(
    "error",
    [
        client_error("TooManyRequestsException", 429),
        client_error("SomethingNew", 429),
        client_error("ServiceUnavailable", 503),
    ],
)
def test_429_and_5xx_are_retried(fake_client: FakeClient, error: Exception) -> None:
    fake_client.faults = [error]
    with make_tracker(fake_client) as tracker:
        tracker.track("click", "s-1")
        assert tracker.flush(timeout=10)
        assert tracker.stats().retried == 1
        assert tracker.stats().delivered == 1


def test_retrying_is_logged_while_it_lasts_but_not_per_attempt(
    fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="personalize_tracker")
    fake_client.faults = [throttled() for _ in range(5)]
    with make_tracker(fake_client, on_failure=lambda failed: None) as tracker:
        tracker.track("click", "s-1")
        assert tracker.flush(timeout=10)
        assert tracker.stats().retried == 5
    lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert lines == [
        "personalize-tracker: PutEvents failed (ThrottlingException: Rate exceeded); "
        "retrying with backoff"
    ]


def test_retries_exhausted_fail_with_reason(fake_client: FakeClient, failures: Failures) -> None:
    fake_client.script = lambda params: throttled()
    with make_tracker(fake_client, max_attempts=3, on_failure=failures) as tracker:
        tracker.track("click", "s-1")
        tracker.track("click", "s-1")
        assert tracker.flush(timeout=10)
        stats = tracker.stats()
    assert stats.requests == 3
    assert stats.retried == 2
    assert stats.failed == 2
    assert stats.failed_by_reason == {"retries_exhausted": 2}
    assert failures.reasons() == ["retries_exhausted", "retries_exhausted"]
    assert failures.items[0].error_code == "ThrottlingException"
    assert failures.items[0].message == "Rate exceeded"


def test_retry_deadline_limits_retries(fake_client: FakeClient, failures: Failures) -> None:
    fake_client.script = lambda params: throttled()
    tracker = make_tracker(
        fake_client, max_attempts=1000, max_backoff=0.05, retry_deadline=0.2, on_failure=failures
    )
    tracker.track("click", "s-1")
    assert tracker.flush(timeout=30)
    tracker.close()
    assert failures.reasons() == ["retries_exhausted"]
    assert tracker.stats().requests < 1000


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (client_error("ResourceNotFoundException", 404, "no such tracker"), "rejected"),
        (client_error("AccessDeniedException", 403), "rejected"),
        (client_error("InvalidInputException", 400), "invalid"),
        (RuntimeError("no credentials"), "error"),
    ],
)
def test_final_errors_are_not_retried(
    fake_client: FakeClient, failures: Failures, error: Exception, reason: str
) -> None:
    fake_client.script = lambda params: error
    with make_tracker(fake_client, on_failure=failures) as tracker:
        tracker.track("click", "s-1")
        assert tracker.flush(timeout=10)
        stats = tracker.stats()
    assert stats.requests == 1
    assert stats.retried == 0
    assert failures.reasons() == [reason]


# -- poison batches ------------------------------------------------------------------------------


def test_poison_event_is_isolated_and_the_rest_delivered(
    fake_client: FakeClient, failures: Failures
) -> None:
    def reject_poison(params: dict[str, Any]) -> Exception | None:
        if any(e.get("itemId") == "poison" for e in params["eventList"]):
            return client_error("InvalidInputException", 400, "Invalid event")
        return None

    fake_client.script = reject_poison
    with make_tracker(fake_client, on_failure=failures) as tracker:
        for n in range(10):
            tracker.track("click", "s-1", item_id="poison" if n == 6 else f"i-{n}")
        assert tracker.flush(timeout=10)
        stats = tracker.stats()
    assert stats.delivered == 9
    assert stats.failed == 1
    assert [f.event.item_id for f in failures.items] == ["poison"]
    assert failures.items[0].reason is FailureReason.INVALID
    assert failures.items[0].message == "Invalid event"
    delivered = [e["itemId"] for e in fake_client.delivered_events]
    assert sorted(delivered) == sorted(f"i-{n}" for n in range(10) if n != 6)
    # 10 fails; 0-4 pass; 5-9 fail; 5-6 fail, 7-9 pass; 5 passes, 6 fails alone
    assert stats.requests == 7


# -- queue full ----------------------------------------------------------------------------------


def test_queue_full_drops_new_event_and_reports_it(
    fake_client: FakeClient, failures: Failures
) -> None:
    with make_tracker(fake_client, max_queue_size=3, on_failure=failures) as tracker:
        kept = [tracker.track("click", f"s-{n}") for n in range(3)]
        dropped = tracker.track("click", "s-x")
        stats = tracker.stats()
        assert (stats.tracked, stats.dropped, stats.pending) == (4, 1, 3)
        assert balanced(stats)
        assert [f.event for f in failures.items] == [dropped]
        assert failures.items[0].reason is FailureReason.QUEUE_FULL
        assert tracker.flush(timeout=10)
    assert {e["eventId"] for e in fake_client.delivered_events} == {e.event_id for e in kept}


def test_queue_full_without_handler_logs_without_user_data(
    fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="personalize_tracker")
    with make_tracker(fake_client, max_queue_size=1) as tracker:
        tracker.track("click", "s-1", user_id="alice@example.com")
        for _ in range(5):
            tracker.track("click", "s-2", user_id="alice@example.com")
        assert tracker.stats().dropped == 5
    messages = [r.getMessage() for r in caplog.records]
    # rate-limited: one line, not five, and one at close() for the drops it held back
    assert len(messages) == 2
    assert "1 event(s) dropped" in messages[0]
    assert "4 more event(s) dropped" in messages[1]
    assert all("max_queue_size=1" in m for m in messages)
    assert not any("alice" in m for m in messages)


def test_failures_without_handler_are_logged_without_user_data(
    fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="personalize_tracker")
    fake_client.script = lambda params: client_error("InvalidInputException", 400, "bad")
    with make_tracker(fake_client) as tracker:
        event = tracker.track(
            "click", "s-1", user_id="alice@example.com", properties={"secret": "x"}
        )
        tracker.flush(timeout=10)
    (record,) = caplog.records
    text = record.getMessage()
    assert event.event_id in text
    assert "invalid" in text
    assert "InvalidInputException" in text
    assert "alice" not in text
    assert "secret" not in text


def test_on_failure_exception_is_logged_not_raised(
    fake_client: FakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(failed: Sequence[FailedEvent]) -> None:
        raise RuntimeError("handler bug")

    fake_client.script = lambda params: client_error("InvalidInputException", 400)
    with make_tracker(fake_client, on_failure=broken) as tracker:
        tracker.track("click", "s-1")
        assert tracker.flush(timeout=10)
        assert tracker.stats().failed == 1
    assert any("on_failure raised" in r.getMessage() for r in caplog.records)


# -- lifecycle -----------------------------------------------------------------------------------


def test_flush_returns_false_when_timeout_passes(fake_client: FakeClient) -> None:
    fake_client.gate = threading.Event()
    with make_tracker(fake_client) as tracker:
        tracker.track("click", "s-1")
        assert tracker.flush(timeout=0.05) is False
        assert tracker.stats().pending == 1
        fake_client.gate.set()
        assert tracker.flush(timeout=10) is True
        assert tracker.stats().delivered == 1


def test_close_is_final_and_idempotent(fake_client: FakeClient) -> None:
    tracker = make_tracker(fake_client)
    tracker.track("click", "s-1")
    tracker.close()
    tracker.close()
    assert tracker.closed
    assert tracker.stats().delivered == 1
    with pytest.raises(TrackerClosedError):
        tracker.track("click", "s-1")
    with pytest.raises(TrackerClosedError):
        tracker.flush()


def test_close_timeout_interrupts_retry_waits(fake_client: FakeClient, failures: Failures) -> None:
    fake_client.script = lambda params: throttled()
    tracker = make_tracker(
        fake_client, max_backoff=3600, retry_deadline=3600, max_attempts=100, on_failure=failures
    )
    tracker.track("click", "s-1")
    tracker.track("click", "s-2")
    tracker.close(timeout=0.3)
    stats = tracker.stats()
    assert stats.pending == 0
    assert stats.failed == 2
    assert failures.reasons() == ["closed", "closed"]
    # the reason it was still retrying is kept
    assert {f.error_code for f in failures.items} == {"ThrottlingException"}
    assert all("Rate exceeded" in (f.message or "") for f in failures.items)
    assert balanced(stats)


def test_close_timeout_fails_events_never_sent(fake_client: FakeClient, failures: Failures) -> None:
    fake_client.gate = threading.Event()  # holds the one sender thread in its call
    tracker = make_tracker(fake_client, max_workers=1, on_failure=failures)
    tracker.track("click", "s-1")
    assert tracker.flush(timeout=0.05) is False  # the first batch is in flight, held
    tracker.track("click", "s-2")
    tracker.close(timeout=0.05)
    assert failures.reasons() == ["closed"]
    assert failures.items[0].event.session_id == "s-2"
    fake_client.gate.set()
    # the call that was on the wire is accounted for when it ends
    with fake_client.changed:
        fake_client.changed.wait_for(lambda: len(fake_client.accepted) == 1, 10)
    stats = tracker.stats()
    assert balanced(stats)


def test_sync_mode_delivers_on_callers_thread(fake_client: FakeClient) -> None:
    threads_before = set(threading.enumerate())
    with make_tracker(fake_client, sync=True) as tracker:
        for n in range(10):
            tracker.track("click", "s-1", item_id=f"i-{n}")
        assert len(fake_client.accepted) == 1  # the full batch went during track()
        tracker.track("click", "s-1", item_id="i-10")
        assert tracker.stats().pending == 1
        assert tracker.flush()
        assert tracker.stats().delivered == 11
    assert fake_client.threads == {threading.get_ident()}
    started = set(threading.enumerate()) - threads_before
    assert not any(t.name.startswith("personalize-tracker") for t in started)


def test_sync_mode_retries_and_splits_like_async(
    fake_client: FakeClient, failures: Failures
) -> None:
    fake_client.faults = [throttled()]
    fake_client.script = lambda p: (
        client_error("InvalidInputException", 400)
        if any(e["eventType"] == "bad" for e in p["eventList"])
        else None
    )
    with make_tracker(fake_client, sync=True, on_failure=failures) as tracker:
        tracker.track("click", "s-1")
        tracker.track("bad", "s-1")
        tracker.track("click", "s-1")
        assert tracker.flush()
        stats = tracker.stats()
    assert (stats.delivered, stats.failed, stats.retried) == (2, 1, 1)
    assert [f.event.event_type for f in failures.items] == ["bad"]


def test_accounting_balances_under_concurrent_tracking_and_faults(
    fake_client: FakeClient, failures: Failures
) -> None:
    def flaky(params: dict[str, Any]) -> Exception | None:
        first = params["eventList"][0]["itemId"]
        if first.endswith("7"):
            return throttled()
        if any(e["itemId"].endswith("3") for e in params["eventList"]):
            return client_error("InvalidInputException", 400)
        return None

    fake_client.script = flaky
    tracker = make_tracker(
        fake_client,
        max_queue_size=500,
        max_attempts=2,
        on_failure=failures,
        flush_interval=0.01,
        max_requests_per_second=None,  # throttling here is scripted, not a rate to adapt to
    )

    def produce(worker: int) -> None:
        for n in range(400):
            tracker.track("click", f"s-{worker}-{n % 13}", f"u-{worker}", f"i-{n}")
            if n % 50 == 0:
                assert balanced(tracker.stats())

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tracker.flush(timeout=30)
    tracker.close()
    stats = tracker.stats()
    assert stats.tracked == 1600
    assert stats.pending == 0
    assert balanced(stats)
    assert stats.failed + stats.dropped == len(failures.items)
    accepted_ids = [e["eventId"] for e in fake_client.delivered_events]
    assert len(accepted_ids) == len(set(accepted_ids)) == stats.delivered
    assert stats.failed_by_reason.get("invalid", 0) > 0


def test_constructor_rejects_bad_options(fake_client: FakeClient) -> None:
    with pytest.raises(ValueError, match="flush_interval"):
        Tracker("t", client=fake_client, flush_interval=0)
    with pytest.raises(ValueError, match="max_workers"):
        Tracker("t", client=fake_client, max_workers=0)
    with pytest.raises(ValueError, match="max_queue_size"):
        Tracker("t", client=fake_client, max_queue_size=True)
    with pytest.raises(InvalidEventError, match="tracking_id"):
        Tracker("", client=fake_client)
    with pytest.raises(ValueError, match="not both"):
        Tracker("t", client=fake_client, endpoint_url="http://127.0.0.1:1")


def test_missing_region_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    with pytest.raises(ValueError, match=r"no AWS region .* AWS_REGION"):
        Tracker("t")


def _fresh(text: str) -> str:
    """An equal string that is a distinct object (as ids parsed from a request are)."""
    return "".join(list(text))


def test_queued_events_of_a_session_share_id_strings(fake_client: FakeClient) -> None:
    # Memory per queued event: events of one (user, session) and of one item share strings.
    # A session's strings are kept from its second event (a session of one has none to share).
    with Tracker("tid", client=fake_client, flush_interval=60) as tracker:
        a = tracker.track("click", _fresh("session-1"), _fresh("user-1"), _fresh("item-1"))
        b = tracker.track("click", _fresh("session-1"), _fresh("user-1"), _fresh("item-1"))
        c = tracker.track("click", _fresh("session-1"), _fresh("user-1"), _fresh("item-1"))
        other = tracker.track("view", _fresh("session-2"), _fresh("user-1"), _fresh("item-1"))
        assert b.session_id is c.session_id
        assert a.user_id is b.user_id is c.user_id is other.user_id  # a user's, from the first
        assert a.item_id is b.item_id is other.item_id
        assert other.session_id == "session-2"
        d = tracker.track("click", _fresh("session-1"), _fresh("user-1"), _fresh("item-1"))
        assert d.session_id is b.session_id  # kept while its events are pending
        session = tracker.session(user_id="user-2", session_id="session-3")
        assert session.track("click", _fresh("item-1")).item_id is a.item_id
        assert tracker.flush(timeout=10)
    assert [e["itemId"] for e in fake_client.delivered_events] == ["item-1"] * 6


def test_a_session_is_shared_once_its_group_holds_an_event(fake_client: FakeClient) -> None:
    # Sessions interleaved: the third event of session 1 finds its group holding an event when
    # it reaches the buffer (at once here: an age limit takes records in on the caller's
    # thread), and the session's strings are shared from then on.
    with Tracker("tid", client=fake_client, flush_interval=60, max_event_age=3600) as tracker:
        tracker.track("click", _fresh("session-1"), "user-1")
        tracker.track("click", _fresh("session-2"), "user-1")
        kept = tracker.track("click", _fresh("session-1"), "user-1")
        tracker.track("click", _fresh("session-2"), "user-1")
        again = tracker.track("click", _fresh("session-1"), "user-1")
        assert again.session_id is kept.session_id
        assert tracker.flush(timeout=10)
    assert len(fake_client.delivered_events) == 5


def test_ids_of_enqueued_events_are_not_trusted_by_track(fake_client: FakeClient) -> None:
    # Events enqueued as built (or read back from a spool) were never checked: their session
    # must not become one track() trusts without checking.
    with Tracker("tid", client=fake_client, flush_interval=60, max_event_age=3600) as tracker:
        for n in range(2):
            tracker.enqueue(Event("click", "null", 1_700_000_000.0, f"e{n}", user_id="u1"))
        with pytest.raises(InvalidEventError, match="session_id"):
            tracker.track("click", "null", "u1")
        assert tracker.flush(timeout=10)


def test_events_of_many_items_are_delivered_with_a_small_queue(fake_client: FakeClient) -> None:
    # The shared item-id table is bounded by max_queue_size (tests/record/test_shared.py):
    # starting over must not mix up ids.
    with Tracker("tid", client=fake_client, max_queue_size=5, flush_interval=60) as tracker:
        for n in range(12):
            tracker.track("click", f"s{n}", item_id=f"item-{n}")
            assert tracker.flush(timeout=10)  # the queue (5 events) never fills
    assert sorted(e["itemId"] for e in fake_client.delivered_events) == sorted(
        f"item-{n}" for n in range(12)
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [((["s"],), "session_id"), (("s", {"u": 1}), "user_id")],
)
def test_unhashable_ids_are_invalid_events(
    fake_client: FakeClient, args: tuple[Any, ...], field: str
) -> None:
    with Tracker("tid", client=fake_client) as tracker:
        with pytest.raises(InvalidEventError) as info:
            tracker.track("click", *args)
        assert info.value.field == field
        assert tracker.stats().tracked == 0


def test_the_first_bad_field_in_declaration_order_is_reported(fake_client: FakeClient) -> None:
    with Tracker("tid", client=fake_client) as tracker:
        with pytest.raises(InvalidEventError) as info:
            tracker.track("", "s", properties={"x": {"nested": 1}}, impression=[])
        assert info.value.field == "event_type"
        with pytest.raises(InvalidEventError) as info:
            tracker.track("click", "s", properties={"x": {"nested": 1}}, impression=[])
        assert info.value.field == "properties.x"


def test_max_workers_follows_a_given_clients_connection_pool(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import boto3
    import botocore.config

    session = boto3.Session(
        aws_access_key_id="a", aws_secret_access_key="b", region_name="us-east-1"
    )
    plain = session.client("personalize-events", endpoint_url="http://127.0.0.1:9")
    assert Tracker("tid", client=plain).max_workers == 10  # botocore's default pool
    wide = session.client(
        "personalize-events",
        endpoint_url="http://127.0.0.1:9",
        config=botocore.config.Config(max_pool_connections=50),
    )
    assert Tracker("tid", client=wide).max_workers == 32
    assert Tracker("tid", endpoint_url="http://127.0.0.1:9", session=session).max_workers == 32
    with caplog.at_level("WARNING", logger="personalize_tracker"):
        assert Tracker("tid", client=plain, max_workers=20).max_workers == 20
    assert "max_pool_connections=10" in caplog.text


def test_stats_snapshots_compare_counters_not_the_sender_gauge(fake_client: FakeClient) -> None:
    with Tracker("tid", client=fake_client) as tracker:
        stats = tracker.stats()
        assert stats == attrs.evolve(stats, senders=stats.senders + 5)
        assert stats != attrs.evolve(stats, tracked=1)


_DEFERRED = (
    "personalize_tracker._delivery.putdatasets",
    "personalize_tracker._pipeline.datasets",
    "personalize_tracker._record.catalog",
    "personalize_tracker.recommendations",
    "personalize_tracker.schema",
    "personalize_tracker.session",
)
_COMMON_PATH = f"""
import sys
from personalize_tracker import Tracker
tracker = Tracker("t", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                  on_failure=lambda failed: None)
tracker.track("click", session_id="s-1", user_id="u-1", item_id="i-1")
tracker.stats()
print(sorted(m for m in {_DEFERRED!r} if m in sys.modules))
tracker.session(user_id="u-2").track("click", item_id="i-2")
print(sorted(m for m in {_DEFERRED!r} if m in sys.modules))
tracker.close(timeout=0)
import personalize_tracker as package
print([getattr(package, name).__module__ for name in
       ("Item", "User", "Action", "ActionInteraction", "DatasetSchema", "InteractionsSchema",
        "SchemaField", "Recommendations", "TrackingSession")])
"""


def test_tracking_alone_imports_no_other_kind_schema_session_or_recommendations() -> None:
    # Issue 18 (import time): what Tracker(...) + track() never needs is imported on first use
    # (session() brings the session and recommendations modules), and the public names resolve.
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = subprocess.run(
        [sys.executable, "-c", _COMMON_PATH],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    )  # fmt: skip
    common, with_session, modules = done.stdout.splitlines()
    assert common == "[]"
    assert with_session == str(
        ["personalize_tracker.recommendations", "personalize_tracker.session"]
    )
    catalog, schema = "personalize_tracker._record.catalog", "personalize_tracker.schema"
    assert modules == str([catalog] * 4 + [schema] * 3 + [
        "personalize_tracker.recommendations", "personalize_tracker.session"
    ])  # fmt: skip


def test_the_lean_transport_is_imported_with_the_first_client_the_tracker_builds() -> None:
    # Issue 18 (import time): ``import personalize_tracker`` leaves it out.
    script = (
        "import sys\n"
        "import personalize_tracker\n"
        "print('personalize_tracker._delivery.lean' in sys.modules)\n"
        "tracker = personalize_tracker.Tracker('t', region_name='us-east-1',\n"
        "    endpoint_url='http://127.0.0.1:9', on_failure=lambda failed: None)\n"
        "print('personalize_tracker._delivery.lean' in sys.modules)\n"
        "tracker.close(timeout=0)\n"
    )
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.stdout.split() == ["False", "True"], done.stderr
