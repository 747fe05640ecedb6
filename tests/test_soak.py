"""Soak: the MovieLens replay through random faults; every event arrives exactly once, intact.

The default size suits CI (3,000 events). Scale it with the environment variable
``PERSONALIZE_TRACKER_SOAK_EVENTS`` (e.g. 100004 for the whole data set), and change the fault
seed with ``PERSONALIZE_TRACKER_SOAK_SEED``. The outage soak takes the endpoint down for
``PERSONALIZE_TRACKER_SOAK_OUTAGE_SECONDS`` (default 2; the issue's figure is 60) while events
keep coming, with ``overflow="block"`` and with ``"spill"``: nothing may be lost.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectionClosedError

from personalize_tracker import Event, Tracker
from personalize_tracker._tools.demo import iter_movielens, sessionize
from personalize_tracker.testing import PersonalizeEventsMock

RATINGS = (
    Path(__file__).resolve().parents[1] / "datasets" / "movielens-latest-small" / "ratings.csv"
)
EVENTS = int(os.environ.get("PERSONALIZE_TRACKER_SOAK_EVENTS", "3000"))
SEED = int(os.environ.get("PERSONALIZE_TRACKER_SOAK_SEED", "20261129"))
OUTAGE = float(os.environ.get("PERSONALIZE_TRACKER_SOAK_OUTAGE_SECONDS", "2"))


class RandomFaults:
    """A botocore ``before-send`` hook that makes requests fail at random, before the endpoint.

    Per request: 6% throttling, 2% 429, 3% server error, 2% service unavailable (all injected
    into the endpoint so it answers with AWS's error shape), 3% connection reset (raised here:
    the request never reaches the endpoint), 2% answered 30 ms late.
    """

    def __init__(self, endpoint: PersonalizeEventsMock, seed: int) -> None:
        self.endpoint = endpoint
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def __call__(self, request: Any, **kwargs: Any) -> None:
        with self.lock:
            roll = self.random.random()
        kind = None
        if roll < 0.06:
            kind = "throttling"
        elif roll < 0.08:
            kind = "too_many_requests"
        elif roll < 0.11:
            kind = "server_error"
        elif roll < 0.13:
            kind = "unavailable"
        elif roll < 0.16:
            kind = "reset"
        elif roll < 0.18:
            kind = "slow"
        if kind is None:
            return
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "reset":
            raise ConnectionClosedError(endpoint_url=request.url)
        self.endpoint.inject_fault(kind, delay=0.03 if kind == "slow" else 0.0)


@pytest.mark.slow
def test_movielens_replay_through_random_faults(
    personalize_events: PersonalizeEventsMock,
) -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    tracker = Tracker(
        "soak",
        session=session,
        flush_interval=0.05,
        max_backoff=0.05,
        max_attempts=30,
        max_queue_size=500,
        overflow="block",
        block_timeout=60,
    )
    faults = RandomFaults(personalize_events, SEED)
    tracker.client.meta.events.register_first("before-send.personalize-events", faults)

    tracked: dict[str, Event] = {}
    for rating in sessionize(iter_movielens(RATINGS, limit=EVENTS), gap_seconds=1800):
        event = tracker.track(
            "rating",
            rating.session_id,
            rating.user_id,
            rating.item_id,
            event_value=rating.event_value,
            sent_at=rating.sent_at,
        )
        tracked[event.event_id] = event
    assert tracker.flush(timeout=300)
    tracker.close()

    stats = tracker.stats()
    assert (stats.tracked, stats.delivered, stats.failed, stats.dropped) == (EVENTS, EVENTS, 0, 0)
    assert sum(faults.counts.values()) > 0
    assert stats.retried >= sum(v for k, v in faults.counts.items() if k != "slow") * 0.5

    received = personalize_events.events
    ids = [e.event_id for e in received]
    assert len(ids) == len(set(ids)) == EVENTS  # exactly once
    for got in received:
        sent = tracked[got.event_id]
        assert (got.user_id, got.session_id, got.item_id) == (
            sent.user_id,
            sent.session_id,
            sent.item_id,
        )
        assert got.event_value == sent.event_value
        assert got.event_type == "rating"
        assert round(got.sent_at, 3) == round(sent.sent_at, 3)


class Outage:
    """A botocore ``before-send`` hook: every request fails (connection reset, or 503 from the
    endpoint, alternately) until ``until`` (monotonic)."""

    def __init__(self, endpoint: PersonalizeEventsMock, seconds: float) -> None:
        self.endpoint = endpoint
        self.until = time.monotonic() + seconds
        self.failed = 0
        self.lock = threading.Lock()

    def __call__(self, request: Any, **kwargs: Any) -> None:
        if time.monotonic() >= self.until:
            return
        with self.lock:
            self.failed += 1
            odd = self.failed % 2
        if odd:
            raise ConnectionClosedError(endpoint_url=request.url)
        self.endpoint.inject_fault("unavailable")


@pytest.mark.slow
@pytest.mark.parametrize("overflow", ["block", "spill"])
def test_an_outage_loses_nothing(
    personalize_events: PersonalizeEventsMock, tmp_path: Path, overflow: str
) -> None:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    tracker = Tracker(
        "soak",
        session=session,
        flush_interval=0.05,
        max_backoff=min(5.0, OUTAGE / 4),
        retry_deadline=OUTAGE * 3 + 30,
        max_queue_size=500,
        overflow=overflow,  # type: ignore[arg-type]
        block_timeout=OUTAGE * 3 + 30,
        spool_path=tmp_path if overflow == "spill" else None,
    )
    outage = Outage(personalize_events, OUTAGE)
    tracker.client.meta.events.register_first("before-send.personalize-events", outage)
    for rating in sessionize(iter_movielens(RATINGS, limit=EVENTS), gap_seconds=1800):
        tracker.track("rating", rating.session_id, rating.user_id, rating.item_id)
    assert tracker.flush(timeout=OUTAGE * 3 + 60)
    tracker.close()
    stats = tracker.stats()
    assert (stats.tracked, stats.delivered, stats.failed, stats.dropped) == (EVENTS, EVENTS, 0, 0)
    assert outage.failed > 0
    assert len({e.event_id for e in personalize_events.events}) == EVENTS
