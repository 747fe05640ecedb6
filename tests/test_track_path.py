"""track()'s path end to end: the checks track() makes itself (the same as Event.create's, in
the same order), the lock-free inbox that sender threads take into the buffer, and the session
table. The inbox's handshake alone is tested in tests/intake/test_inbox.py, the sender pool's
roles in tests/delivery/test_pool.py."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import defaultdict
from typing import Any

import pytest

from personalize_tracker import Event, InvalidEventError, Tracker, TrackerClosedError
from personalize_tracker._delivery import pool as pool_module
from personalize_tracker._intake import inbox as inbox_module

from conftest import FakeClient, event_pipeline_of

NOW = 1_700_000_000.0

# (arguments of track() / Event.create after event_type and session_id, as keywords)
VALID: list[tuple[str, str | int, dict[str, Any]]] = [
    ("click", "s1", {}),
    ("click", 42, {"user_id": 7, "item_id": 9}),
    ("click", uuid.UUID(int=5), {"user_id": uuid.UUID(int=6)}),
    ("rate", "s1", {"user_id": "u1", "item_id": "i1", "event_value": 4}),
    ("view", "s1", {"properties": {"DEVICE_TYPE": "mobile", "numRatings": 3}}),
    ("view", "s1", {"recommendation_id": "r" * 40, "impression": ["a", "b", "a"]}),
    ("view", "s1", {"metric_attribution_source": "email"}),
    ("view", "s1", {"sent_at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}),
]

INVALID: list[tuple[Any, Any, dict[str, Any]]] = [
    ("", "s1", {}),
    ("e" * 257, "s1", {}),
    (5, "s1", {}),
    ("click", "", {}),
    ("click", "s" * 257, {}),
    ("click", 1.5, {}),
    ("click", "s1", {"user_id": ""}),
    ("click", "s1", {"user_id": "u" * 257}),
    ("click", "s1", {"user_id": True}),
    ("click", "s1", {"item_id": "i" * 257}),
    ("click", "s1", {"item_id": [1]}),
    ("click", "s1", {"event_value": True}),
    ("click", "s1", {"event_value": float("nan")}),
    ("click", "s1", {"sent_at": dt.datetime(2024, 1, 1)}),
    ("click", "s1", {"sent_at": 1_700_000_000_000}),
    ("click", "s1", {"event_id": ""}),
    ("click", "s1", {"properties": {"deviceType": object()}}),
    ("click", "s1", {"recommendation_id": "r" * 41}),
    ("click", "s1", {"impression": [str(i) for i in range(26)]}),
    ("click", "s1", {"metric_attribution_source": "\x00"}),
    # astral text (an emoji is 2 UTF-16 code units, what the service counts): over the limit
    ("\U0001f600" * 129, "s1", {}),
    ("click", "\U0001f600" * 129, {}),
    ("click", "s1", {"user_id": "\U0001f600" * 129}),
    ("click", "s1", {"item_id": "\U0001f600" * 129}),
    ("click", "s1", {"event_id": "\U0001f600" * 129}),
    ("click", "s1", {"recommendation_id": "\U0001f600" * 21}),
    ("click", "s1", {"properties": {"x": "\U0001f600" * 510}}),
    # several bad fields: the first in declaration order is the one reported
    ("", "", {"user_id": ""}),
    ("click", "", {"item_id": ""}),
    ("click", "s1", {"user_id": "", "item_id": "", "event_value": True}),
]


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(InvalidEventError) as info:
        call()
    return info.value.field, str(info.value)


@pytest.mark.parametrize(("event_type", "session_id", "kwargs"), VALID)
def test_track_builds_the_same_event_as_event_create(
    fake_client: FakeClient, event_type: str, session_id: str | int, kwargs: dict[str, Any]
) -> None:
    # track() inlines Event.create's checks on its fast path: the results must not drift apart.
    kwargs = {"event_id": "e1", "sent_at": NOW, **kwargs}
    with Tracker("t", client=fake_client) as tracker:
        first = tracker.track(event_type, session_id, **kwargs)
        again = tracker.track(event_type, session_id, **kwargs)  # the session's ids now known
    expected = Event.create(event_type, session_id, **kwargs)
    assert first == expected
    assert again == expected


@pytest.mark.parametrize(("event_type", "session_id", "kwargs"), INVALID)
def test_track_reports_the_same_error_as_event_create(
    fake_client: FakeClient, event_type: Any, session_id: Any, kwargs: dict[str, Any]
) -> None:
    expected = error_of(lambda: Event.create(event_type, session_id, **kwargs))
    with Tracker("t", client=fake_client) as tracker:
        assert error_of(lambda: tracker.track(event_type, session_id, **kwargs)) == expected
        # once the session (and item) were seen in a valid event, the checks still hold
        if isinstance(session_id, str) and 0 < len(session_id.encode("utf-16-le")) // 2 <= 256:
            tracker.track("warm", session_id, "u1", "i1")
        assert error_of(lambda: tracker.track(event_type, session_id, **kwargs)) == expected
        stats = tracker.stats()
    assert (stats.dropped, stats.failed) == (0, 0)


def test_a_known_session_with_a_new_user_id_is_checked_and_then_shared(
    fake_client: FakeClient,
) -> None:
    with Tracker("t", client=fake_client, flush_interval=3600) as tracker:
        anonymous = tracker.track("view", "s1")
        with pytest.raises(InvalidEventError, match="user_id"):
            tracker.track("view", "s1", "u" * 257)
        logged_in = tracker.track("view", "s1", "user-" + "1")
        later = tracker.track("view", "s1", "user-" + "1")
        assert anonymous.user_id is None
        assert logged_in.user_id == later.user_id == "user-1"
        assert later.user_id is logged_in.user_id  # the string is shared
        assert later.session_id is anonymous.session_id
    by_user = {call.get("userId") for call in fake_client.calls}
    assert by_user == {None, "user-1"}


def test_events_from_many_threads_are_delivered_once_in_order_per_session(
    fake_client: FakeClient,
) -> None:
    threads, per_thread, sessions_per_thread = 4, 3_000, 25
    tracked: dict[str, list[str]] = defaultdict(list)

    def work(n: int) -> None:
        for i in range(per_thread):
            session = f"t{n}-s{i % sessions_per_thread}"
            tracked[session].append(tracker.track("click", session, f"u{n}", f"i{i}").event_id)

    tracker = Tracker("t", client=fake_client, max_queue_size=100_000)
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    tracker.close()

    stats = tracker.stats()
    assert stats.tracked == stats.delivered == threads * per_thread
    assert stats.pending == 0
    sent: dict[str, list[str]] = defaultdict(list)
    for call in fake_client.accepted:
        sent[call["sessionId"]].extend(e["eventId"] for e in call["eventList"])
    assert sent == tracked  # every session's events, each once, in the order tracked


def test_close_while_threads_track_accounts_for_every_event(fake_client: FakeClient) -> None:
    # A track() racing close() either raises TrackerClosedError (nothing queued) or returns an
    # event that is then delivered: none is left in the inbox, none counted twice.
    for _ in range(10):
        tracker = Tracker("t", client=fake_client, max_queue_size=1_000_000)
        returned: list[str] = []
        started = threading.Barrier(4)

        def work(
            n: int,
            tracker: Tracker = tracker,
            returned: list[str] = returned,
            started: threading.Barrier = started,
        ) -> None:
            for i in range(1_000_000):
                try:
                    event = tracker.track("click", f"s{n}-{i % 7}", "u1", "i1")
                except TrackerClosedError:
                    return
                returned.append(event.event_id)
                if i == 100:
                    started.wait()  # close() runs while every thread is tracking

        workers = [threading.Thread(target=work, args=(n,)) for n in range(3)]
        for worker in workers:
            worker.start()
        started.wait()
        tracker.close()
        for worker in workers:
            worker.join()
        stats = tracker.stats()
        assert stats.tracked == stats.delivered == len(returned)
        assert (stats.pending, stats.dropped) == (0, 0)
    delivered = [e["eventId"] for e in fake_client.delivered_events]
    assert len(delivered) == len(set(delivered))


def test_events_left_in_the_inbox_are_counted_flushed_and_retracted_after_close(
    fake_client: FakeClient,
) -> None:
    # With a sender due to collect (here: asked to, and none running), put() leaves events in
    # the inbox: stats() counts them, flush() sends them, and after close() put() raises with
    # nothing left behind. (On the Tracker's pipeline, whose inbox and pool can be looked at.)
    pipeline = event_pipeline_of(fake_client)
    pipeline.inbox.wanted = True  # a sender was asked to collect: producers only append
    events = [Event.create("click", "s1", user_id="u1", item_id=f"i{i}") for i in range(3)]
    for event in events:
        pipeline.put(event)
    assert pipeline.inbox.size == 3
    assert not pipeline.pool.started
    stats = pipeline.stats()
    assert (stats.tracked, stats.pending) == (3, 3)
    assert pipeline.inbox.size == 0
    more = Event.create("click", "s1", user_id="u1", item_id="i9")
    pipeline.put(more)
    assert pipeline.inbox.size == 1
    assert pipeline.flush(timeout=10)  # delivers on this thread: no sender runs
    assert [e["eventId"] for e in fake_client.delivered_events] == [
        e.event_id for e in [*events, more]
    ]
    pipeline.close(None)
    with pytest.raises(TrackerClosedError):
        pipeline.put(Event.create("click", "s1"))
    assert pipeline.inbox.size == 0
    stats = pipeline.stats()
    assert (stats.tracked, stats.delivered, stats.pending) == (4, 4, 0)


def test_a_lone_event_after_a_burst_is_delivered_without_a_flush(
    fake_client: FakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After a burst the senders stop collecting once they find the inbox empty (at once, with
    # no linger); the next event must still reach a sender (track() takes it in itself and
    # wakes one), not wait in the inbox.
    monkeypatch.setattr(inbox_module, "_LINGER", 0.0)
    with Tracker("t", client=fake_client, flush_interval=0.05) as tracker:
        for i in range(2_000):
            tracker.track("click", f"s{i % 50}", "u1", f"i{i}")
        assert fake_client.wait_for_accepted_events(2_000)
        assert tracker.flush(timeout=10)
        for n in range(3):
            tracker.track("click", f"lone-{n}")
            assert fake_client.wait_for_accepted_events(2_001 + n)


def test_a_batch_worth_of_events_in_the_inbox_wakes_a_sender_at_once(
    fake_client: FakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Senders collect the inbox every _COLLECT_INTERVAL seconds (an hour here), but ten events
    # waiting there make track() wake one: a session's full batch leaves at once.
    monkeypatch.setattr(pool_module, "_COLLECT_INTERVAL", 3600.0)
    with Tracker("t", client=fake_client, flush_interval=3600) as tracker:
        tracker.track("first", "s0")  # starts the senders
        for i in range(10):
            tracker.track("click", "s1", "u1", f"i{i}")
        assert fake_client.wait_for_accepted_events(10)
        assert [c["sessionId"] for c in fake_client.accepted] == ["s1"]


def test_a_known_session_does_not_let_a_look_alike_user_id_through(
    fake_client: FakeClient,
) -> None:
    class EqualsAnything:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = None  # type: ignore[assignment]

    expected = error_of(lambda: Event.create("v", "s1", user_id=EqualsAnything()))  # type: ignore[arg-type]
    with Tracker("t", client=fake_client) as tracker:
        tracker.track("v", "s1", "u1")
        got = error_of(lambda: tracker.track("v", "s1", EqualsAnything()))  # type: ignore[arg-type]
    assert got == expected


def test_enqueue_refuses_an_event_with_ids_of_the_wrong_type(fake_client: FakeClient) -> None:
    # Event(...) checks nothing; an unhashable user id would break a sender's grouping later.
    with Tracker("t", client=fake_client) as tracker:
        with pytest.raises(TypeError, match="user_id"):
            tracker.enqueue(Event("click", "s1", NOW, "e1", user_id=["u1"]))  # type: ignore[arg-type]
        tracker.enqueue(Event("click", "s1", NOW, "e2", user_id="u1"))
        assert tracker.flush(timeout=10)
        stats = tracker.stats()
    assert (stats.tracked, stats.delivered) == (1, 1)


def test_the_session_table_forgets_sessions_with_nothing_pending(fake_client: FakeClient) -> None:
    # It exists to share the id strings of pending events: delivered sessions leave it, so it
    # does not keep up to max_queue_size sessions' strings alive.
    with Tracker("t", client=fake_client, max_queue_size=100_000) as tracker:
        sessions = tracker.composer.ids.sessions  # type: ignore[attr-defined]
        for i in range(1_000):
            tracker.track("click", f"s{i % 100}", f"u{i % 100}")
        assert len(sessions) <= 100  # (sessions whose batch left are forgotten already)
        assert tracker.flush(timeout=10)
        assert sessions == {}
    assert len(fake_client.delivered_events) == 1_000
