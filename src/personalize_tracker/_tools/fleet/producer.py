"""One producer of the fleet demo: a process that tracks its share of the MovieLens users
through a ``Tracker(transport=KinesisTransport(...))``, and measures what ``track()`` costs.

Runs in a child process (``multiprocessing``, spawn): its arguments and result are plain,
picklable values.
"""

from __future__ import annotations

import time
import zlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from ...kinesis import KinesisTransport
from ...tracker import Tracker
from ..demo.movielens import EVENT_TYPE, RatingEvent, iter_movielens, sessionize

__all__ = ["ProducerResult", "ProducerTask", "run_producer", "share_of"]

# Events tracked between two looks at the queue (the replay paces itself, as the demo does).
_CHECK_EVERY = 1000


@attrs.frozen
class ProducerTask:
    """What one producer replays, and where to.

    Attributes:
        index: the producer's number, 0 to ``producers`` - 1.
        producers: how many producers share the users.
        path: the MovieLens ``ratings.csv``.
        limit: rows of the file to read at most (every producer reads the same rows), or None.
        session_gap_seconds: the gap that cuts a user's ratings into sessions.
        tracking_id: the ``trackingId`` of the events' tracker.
        stream_name: the Kinesis stream.
        endpoint_url: the local endpoint (Kinesis).
        region: the AWS region of the clients.
    """

    index: int
    producers: int
    path: Path
    limit: int | None
    session_gap_seconds: float
    tracking_id: str
    stream_name: str
    endpoint_url: str
    region: str


@attrs.frozen
class ProducerResult:
    """What one producer did.

    Attributes:
        index: the producer's number.
        tracked: events tracked.
        written: events written to the stream (the Tracker's ``delivered``).
        failed: events that failed or were dropped.
        put_records_calls: PutRecords calls (retries included).
        event_ids: the tracked events' ids, in tracking order.
        per_session: events per (user, session), as ``[user, session, count]`` rows.
        track_us: CPU µs per ``track()`` of the tracking thread, through Kinesis.
        baseline_track_us: the same for the same events through an in-process PutEvents Tracker
            whose client answers at once (no network): the cost to compare with.
    """

    index: int
    tracked: int
    written: int
    failed: int
    put_records_calls: int
    event_ids: tuple[str, ...]
    per_session: tuple[tuple[str, str, int], ...]
    track_us: float
    baseline_track_us: float


def share_of(user_id: str, producers: int) -> int:
    """The producer that replays ``user_id`` (a stable hash: the split is by user)."""
    return zlib.crc32(user_id.encode()) % producers


class _NoNetwork:
    """A ``personalize-events`` client that takes every call at once: the baseline Tracker's."""

    meta = None

    def put_events(self, **params: Any) -> dict[str, Any]:
        return {}


def _events(task: ProducerTask) -> list[RatingEvent]:
    rows = iter_movielens(task.path, task.limit)
    mine = (r for r in rows if share_of(r.user_id, task.producers) == task.index)
    return list(sessionize(mine, task.session_gap_seconds))


def _track_all(tracker: Tracker, events: Iterable[RatingEvent]) -> tuple[list[str], float]:
    """Track every event; the tracking thread's CPU seconds spent in ``track()`` calls
    (``time.thread_time``: the sender threads' work is not counted), and the event ids."""
    ids: list[str] = []
    spent = 0.0
    clock = time.thread_time
    chunk: list[RatingEvent] = []

    def run(batch: Iterable[RatingEvent]) -> float:
        start = clock()
        for event in batch:
            ids.append(
                tracker.track(
                    EVENT_TYPE,
                    event.session_id,
                    event.user_id,
                    event.item_id,
                    event_value=event.event_value,
                    sent_at=event.sent_at,
                ).event_id
            )
        return clock() - start

    for event in events:
        chunk.append(event)
        if len(chunk) >= _CHECK_EVERY:
            spent += run(chunk)
            chunk.clear()
            while tracker.stats().pending > tracker.max_queue_size // 2:
                time.sleep(0.005)  # pace: the senders catch up (not counted: not track())
    spent += run(chunk)
    return ids, spent


def _baseline(task: ProducerTask, events: list[RatingEvent]) -> float:
    """CPU seconds of ``track()`` for ``events`` through an in-process PutEvents Tracker."""
    baseline = Tracker(task.tracking_id, client=_NoNetwork(), max_requests_per_second=None)
    _, spent = _track_all(baseline, events)
    baseline.close()
    return spent


def run_producer(task: ProducerTask) -> ProducerResult:
    """Replay this producer's users into the stream, then the same events through the baseline
    Tracker, and report (in a child process)."""
    import boto3

    events = _events(task)
    per_session = Counter((e.user_id, e.session_id) for e in events)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=task.region
    )
    transport = KinesisTransport(task.stream_name, session=session, endpoint_url=task.endpoint_url)
    # The in-process Tracker before and after (their mean is the baseline): neither run has the
    # advantage of going second; a short warm-up first.
    _baseline(task, events[:_CHECK_EVERY])
    before = _baseline(task, events)
    tracker = Tracker(task.tracking_id, transport=transport, max_requests_per_second=None)
    ids, spent = _track_all(tracker, events)
    tracker.close()
    stats = tracker.stats()
    after = _baseline(task, events)
    baseline_spent = (before + after) / 2
    count = max(1, len(events))
    return ProducerResult(
        index=task.index,
        tracked=stats.tracked,
        written=stats.delivered,
        failed=stats.failed + stats.dropped,
        put_records_calls=stats.requests,
        event_ids=tuple(ids),
        per_session=tuple((u, s, n) for (u, s), n in per_session.items()),
        track_us=spent / count * 1e6,
        baseline_track_us=baseline_spent / count * 1e6,
    )
