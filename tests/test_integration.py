"""The Tracker with real boto3 clients against the testing extension, in process and over HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import boto3
import pytest

from personalize_tracker import FailedEvent, Tracker
from personalize_tracker.testing import PersonalizeEventsMock


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def in_process_tracker(**kwargs: Any) -> Tracker:
    options: dict[str, Any] = {"flush_interval": 3600, "max_backoff": 0.01}
    options.update(kwargs)
    return Tracker("tracking-1", session=session(), **options)


def test_events_arrive_with_every_field(personalize_events: PersonalizeEventsMock) -> None:
    sent_at = dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)
    with in_process_tracker() as tracker:
        event = tracker.track(
            "click",
            "s-1",
            "u-1",
            "i-9",
            event_value=4.5,
            properties={"DEVICE_TYPE": "ios", "GENRES": ["a", "b"]},
            sent_at=sent_at,
            recommendation_id="RID-1",
            impression=["i-8", "i-9"],
            metric_attribution_source="email",
        )
    (received,) = personalize_events.events
    assert received.tracking_id == "tracking-1"
    assert (received.session_id, received.user_id) == ("s-1", "u-1")
    assert received.event_id == event.event_id
    assert (received.item_id, received.event_value) == ("i-9", 4.5)
    assert json.loads(received.properties or "") == {"deviceType": "ios", "genres": "a|b"}
    assert received.recommendation_id == "RID-1"
    assert received.impression == ("i-8", "i-9")
    assert received.metric_attribution_source == "email"
    # sentAt keeps its milliseconds on the wire (botocore's default would be whole seconds)
    assert received.sent_at == pytest.approx(1_714_564_800.123, abs=1e-6)


def test_two_clicks_in_one_second_stay_apart(personalize_events: PersonalizeEventsMock) -> None:
    with in_process_tracker() as tracker:
        tracker.track("click", "s-1", sent_at=1_714_564_800.100)
        tracker.track("click", "s-1", sent_at=1_714_564_800.900)
    times = sorted(e.sent_at for e in personalize_events.events)
    assert times == pytest.approx([1_714_564_800.1, 1_714_564_800.9], abs=1e-6)


def test_batches_and_sessions_on_the_wire(personalize_events: PersonalizeEventsMock) -> None:
    with in_process_tracker() as tracker:
        for n in range(23):
            tracker.track("view", "s-a", "u-1", f"i-{n}")
        tracker.track("view", "s-b", item_id="x")
        assert tracker.flush(timeout=30)
        assert tracker.stats().requests == 4
    puts = [r for r in personalize_events.requests if r.operation == "PutEvents"]
    assert sorted(len(r.params["eventList"]) for r in puts) == [1, 3, 10, 10]
    anonymous = next(r for r in puts if r.params["sessionId"] == "s-b")
    assert "userId" not in anonymous.params


def test_faults_are_retried_then_delivered(personalize_events: PersonalizeEventsMock) -> None:
    personalize_events.inject_fault("throttling")
    personalize_events.inject_fault("too_many_requests")
    personalize_events.inject_fault("unavailable")
    with in_process_tracker() as tracker:
        event = tracker.track("click", "s-1")
        assert tracker.flush(timeout=30)
        stats = tracker.stats()
    assert (stats.delivered, stats.retried, stats.requests) == (1, 3, 4)
    assert [e.event_id for e in personalize_events.events] == [event.event_id]
    statuses = [r.status for r in personalize_events.requests]
    assert statuses == [400, 429, 503, 200]


def test_poison_event_isolated_by_service_rejection(
    personalize_events: PersonalizeEventsMock,
) -> None:
    personalize_events.reject_events(lambda e: e.item_id == "bad")
    failed: list[FailedEvent] = []

    def on_failure(events: Sequence[FailedEvent]) -> None:
        failed.extend(events)

    with in_process_tracker(on_failure=on_failure) as tracker:
        for n in range(10):
            tracker.track("click", "s-1", item_id="bad" if n == 3 else f"i-{n}")
    assert [f.event.item_id for f in failed] == ["bad"]
    assert failed[0].error_code == "InvalidInputException"
    assert failed[0].message
    assert "Invalid event" in failed[0].message
    assert sorted(e.item_id or "" for e in personalize_events.events) == sorted(
        f"i-{n}" for n in range(10) if n != 3
    )


def test_unknown_tracker_is_rejected_without_retry(
    personalize_events: PersonalizeEventsMock,
) -> None:
    personalize_events.inject_fault("not_found", times=5)
    failed: list[FailedEvent] = []
    with in_process_tracker(on_failure=failed.extend) as tracker:
        tracker.track("click", "s-1")
    assert [f.reason.value for f in failed] == ["rejected"]
    assert failed[0].error_code == "ResourceNotFoundException"
    assert tracker.stats().requests == 1


def test_built_client_does_not_retry_inside_botocore(
    personalize_events: PersonalizeEventsMock,
) -> None:
    personalize_events.inject_fault("throttling", times=100)
    with in_process_tracker(max_attempts=2) as tracker:
        tracker.track("click", "s-1")
        assert tracker.flush(timeout=30)
    # two Tracker attempts = two calls on the wire: botocore added none of its own
    assert len(personalize_events.requests) == 2


@pytest.mark.slow
def test_over_http(personalize_events_server: PersonalizeEventsMock) -> None:
    endpoint = personalize_events_server.endpoint_url
    assert endpoint is not None
    assert endpoint.startswith("http://127.0.0.1:")
    personalize_events_server.inject_fault("server_error")
    with Tracker(
        "tracking-1", session=session(), endpoint_url=endpoint, max_backoff=0.01
    ) as tracker:
        ids = {tracker.track("click", f"s-{n % 4}", "u-1", f"i-{n}").event_id for n in range(57)}
        assert tracker.flush(timeout=60)
        stats = tracker.stats()
    assert stats.delivered == 57
    assert stats.retried == 1
    received = [e.event_id for e in personalize_events_server.events]
    assert sorted(received) == sorted(ids)


def test_one_poison_event_among_thousands(personalize_events: PersonalizeEventsMock) -> None:
    personalize_events.reject_events(lambda e: e.item_id == "poison")
    failed: list[FailedEvent] = []
    with in_process_tracker(on_failure=failed.extend) as tracker:
        for n in range(2000):
            item = "poison" if n == 1234 else f"i-{n}"
            tracker.track("view", f"s-{n % 200}", f"u-{n % 200}", item)
    stats = tracker.stats()
    assert (stats.delivered, stats.failed) == (1999, 1)
    assert [f.event.item_id for f in failed] == ["poison"]
    assert len({e.event_id for e in personalize_events.events}) == 1999
    # only the poisoned batch was split: at most 2*log2(10)+1 = 9 calls for it
    assert stats.requests <= 200 + 9
