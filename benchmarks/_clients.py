"""The libraries under test, each built against the loopback server, and one workload of events.

Every library gets the same events: event ``i`` belongs to user ``u{i // 10 % 1000}``, session
``s{i // 10}`` (sessions of 10 events, so PutEvents batches fill) and item ``i{i % 5000}``.
Segment and PostHog have no item or session fields, so they carry both as properties.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from ._common import DUMMY_CREDENTIALS, TRACKING_ID

# Three contextual properties, as an Interactions schema with these fields would take.
THREE_PROPERTIES = {"DEVICE_TYPE": "mobile", "LOCATION": "fr", "PLAN": "premium"}
#: The Items dataset of the put_item rows (the benchmark server answers any POST alike).
ITEMS_DATASET_ARN = "arn:aws:personalize:us-east-1:000000000000:dataset/bench/ITEMS"
#: An item's metadata: a categorical list, a number, a string.
ITEM_PROPERTIES = {"GENRES": ["Comedy", "Drama"], "PRICE": 9.5, "BRAND": "acme"}


def inputs(n: int, start: int = 0) -> tuple[list[str], list[str], list[str]]:
    """Users, sessions and items of events ``start .. start+n`` (built before any timing)."""
    idx = range(start, start + n)
    return (
        [f"u{i // 10 % 1000}" for i in idx],
        [f"s{i // 10}" for i in idx],
        [f"i{i % 5000}" for i in idx],
    )


def boto3_session() -> Any:
    import boto3

    return boto3.Session(**DUMMY_CREDENTIALS)


def make_tracker(url: str, **options: Any) -> Any:
    from personalize_tracker import Tracker

    return Tracker(TRACKING_ID, session=boto3_session(), endpoint_url=url, **options)


def make_boto_client(url: str) -> Any:
    """A plain boto3 ``personalize-events`` client: boto3's defaults, as a user would write it."""
    return boto3_session().client("personalize-events", endpoint_url=url)


def make_segment(url: str, **options: Any) -> Any:
    from segment.analytics import Client

    logging.getLogger("segment").setLevel(logging.ERROR)
    return Client(write_key="bench-write-key", host=url, send=True, **options)


def make_posthog(url: str, **options: Any) -> Any:
    from posthog import Posthog

    logging.getLogger("posthog").setLevel(logging.ERROR)
    return Posthog("phc_bench_project_key", host=url, **options)


class Library:
    """One library as the benchmarks drive it: ``call(i)`` tracks event ``i`` of the inputs."""

    def __init__(
        self,
        name: str,
        obj: Any,
        call_factory: Callable[[Any, list[str], list[str], list[str]], Callable[[int], Any]],
        flush: Callable[[], Any],
    ) -> None:
        self.name = name
        self.obj = obj
        self._call_factory = call_factory
        self.flush = flush

    def caller(
        self, users: list[str], sessions: list[str], items: list[str]
    ) -> Callable[[int], Any]:
        return self._call_factory(self.obj, users, sessions, items)


def _tracker_call(props: bool) -> Callable[..., Callable[[int], Any]]:
    def factory(t: Any, users: list[str], sessions: list[str], items: list[str]) -> Any:
        track = t.track
        if props:
            properties = THREE_PROPERTIES
            return lambda i: track("click", sessions[i], users[i], items[i], properties=properties)
        return lambda i: track("click", sessions[i], users[i], items[i])

    return factory


def _session_call(t: Any, users: list[str], sessions: list[str], items: list[str]) -> Any:
    # Placeholder for the TrackingSession API of a later issue: Tracker.session(user, session)
    # returning an object whose track(event_type, item_id) queues one event.
    cache: dict[tuple[str, str], Any] = {}

    def call(i: int) -> Any:
        key = (users[i], sessions[i])
        s = cache.get(key)
        if s is None:
            s = cache[key] = t.session(session_id=sessions[i], user_id=users[i])
        return s.track("click", items[i])

    return call


def _put_item_call(t: Any, users: list[str], sessions: list[str], items: list[str]) -> Any:
    put, properties = t.put_item, ITEM_PROPERTIES
    return lambda i: put(items[i], properties)


def _segment_call(props: bool) -> Callable[..., Callable[[int], Any]]:
    def factory(c: Any, users: list[str], sessions: list[str], items: list[str]) -> Any:
        track = c.track
        if props:  # the same three properties as the Tracker's, beside the item and session
            extra = THREE_PROPERTIES
            return lambda i: track(
                users[i], "click", {"item_id": items[i], "session_id": sessions[i], **extra}
            )
        return lambda i: track(users[i], "click", {"item_id": items[i], "session_id": sessions[i]})

    return factory


def _posthog_call(c: Any, users: list[str], sessions: list[str], items: list[str]) -> Any:
    capture = c.capture
    return lambda i: capture(
        "click", distinct_id=users[i], properties={"item_id": items[i], "$session_id": sessions[i]}
    )


def _naive_call(client: Any, users: list[str], sessions: list[str], items: list[str]) -> Any:
    put_events = client.put_events

    def call(i: int) -> Any:
        return put_events(
            trackingId=TRACKING_ID,
            userId=users[i],
            sessionId=sessions[i],
            eventList=[
                {
                    "eventId": uuid.uuid4().hex,
                    "eventType": "click",
                    "sentAt": time.time(),
                    "itemId": items[i],
                }
            ],
        )

    return call


def make_library(name: str, url: str, **options: Any) -> Library:
    """Build library ``name`` against ``url``. Names: see ``LIBRARIES``."""
    if name in ("tracker", "tracker+3props", "tracking_session"):
        t = make_tracker(url, **options)
        factory = {
            "tracker": _tracker_call(False),
            "tracker+3props": _tracker_call(True),
            "tracking_session": _session_call,
        }[name]
        return Library(name, t, factory, t.flush)
    if name == "put_item":
        # No rate limit: the row measures the call; delivery at 9 calls/s would make each
        # round's untimed flush last minutes. Section items measures the default.
        options = {"dataset_requests_per_second": None, **options}
        t = make_tracker(url, items_dataset_arn=ITEMS_DATASET_ARN, **options)
        return Library(name, t, _put_item_call, t.flush)
    if name in ("segment", "segment+3props"):
        c = make_segment(url, **options)
        return Library(name, c, _segment_call(name == "segment+3props"), c.flush)
    if name == "posthog":
        c = make_posthog(url, **options)
        return Library(name, c, _posthog_call, c.flush)
    if name == "naive_put_events":
        client = make_boto_client(url)
        return Library(name, client, _naive_call, lambda: None)
    raise ValueError(f"unknown library {name!r}")


LIBRARIES = {
    "tracker": "Tracker.track()",
    "tracker+3props": "Tracker.track(), 3 properties",
    "tracking_session": "TrackingSession.track()",
    "put_item": "Tracker.put_item(), 3 properties",
    "segment": "Segment track()",
    "segment+3props": "Segment track(), 3 properties",
    "posthog": "PostHog capture()",
    "naive_put_events": "naive put_events per event",
}


def has_tracking_session() -> bool:
    from personalize_tracker import Tracker

    return hasattr(Tracker, "session")
