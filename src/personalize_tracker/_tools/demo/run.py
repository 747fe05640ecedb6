"""The demo's run: MovieLens ratings through a Tracker, into a local endpoint or a given one.

:func:`run_demo` reads the ratings (:mod:`.movielens`), tracks them through a
:class:`~personalize_tracker.Tracker` paced on its queue (:mod:`..backfill`), and, against the
local endpoint it starts, compares what arrived with what was tracked (:mod:`.check`). The
progress bar needs tqdm (the ``cli`` extra) and the local endpoint moto (the ``testing`` extra),
both imported only when used; nothing here needs click.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from ... import Event, FailedEvent, TrackerStats
from ...readiness import Readiness, Target
from ...tracker import Tracker
from ..backfill import PACE_CHECK_EVERY, PACE_HIGH, PACE_LOW, PACE_POLL, FailureLog, calls_floor
from .check import DeliveryCheck, check_delivery
from .movielens import (
    DEFAULT_SESSION_GAP_MINUTES,
    EVENT_TYPE,
    RatingEvent,
    count_rows,
    iter_movielens,
    iter_movies,
    movies_path,
    resolve_data_path,
    sessionize,
)

__all__ = [
    "DEFAULT_LOCAL_ITEMS_DATASET_ARN",
    "DEFAULT_LOCAL_TRACKING_ID",
    "DEFAULT_REGION",
    "DemoResult",
    "run_demo",
]

#: Tracking id used against the local endpoint, which accepts any.
DEFAULT_LOCAL_TRACKING_ID = "demo-tracking-id"
#: The Items dataset the catalogue goes to on the local endpoint, which accepts any.
DEFAULT_LOCAL_ITEMS_DATASET_ARN = (
    "arn:aws:personalize:us-east-1:000000000000:dataset/movielens/ITEMS"
)
DEFAULT_REGION = "us-east-1"

#: What the demo's readiness report checks the replay against: every VIDEO_ON_DEMAND use case,
#: and a custom User-Personalization-v2 solution (docs/readiness.md).
DEMO_TARGET = Target(
    "VIDEO_ON_DEMAND",
    tuple(Target.domain("VIDEO_ON_DEMAND").use_cases),
    ("aws-user-personalization-v2",),
)

_ABORT_CLOSE_TIMEOUT = 5.0  # seconds close() may take when the replay is interrupted
_PROGRESS_INTERVAL = 0.25  # seconds between progress updates while the last events are sent


@attrs.frozen
class DemoResult:
    """What a demo run did.

    Attributes:
        data_path: the ratings file replayed.
        endpoint_url: the PutEvents endpoint used.
        local: whether it was the local endpoint started by the demo.
        tracking_id: the tracking id sent.
        region: the AWS region of the client.
        events_read: ratings read from the file.
        users: distinct users among them.
        sessions: (user, session) pairs.
        calls_floor: fewest PutEvents calls that could carry them (Σ ceil(events / 10)).
        stats: the Tracker's counters after ``close()``.
        wall_seconds: seconds from the first ``track()`` until ``close()`` returned.
        failures: a few of the events reported to ``on_failure`` (failed or dropped).
        check: the comparison of tracked and received events; ``None`` when another endpoint
            was used (the demo cannot see what it received).
        readiness: what the delivered ratings are enough for (:data:`DEMO_TARGET`).
        items_dataset_arn: where the catalogue went, or ``None`` when it was not sent (no
            ``movies.csv`` beside the ratings, or another endpoint without an Items dataset).
        items_read: movies read from ``movies.csv`` and put (those the ratings replayed rate,
            with ``limit``).
        item_stats: the counters of the items (``stats().kinds["items"]``), or ``None``.
        catalog_seconds: seconds from the first ``put_item`` until the catalogue was flushed.
        items_received: distinct items the local endpoint received, or ``None``.
    """

    data_path: Path
    endpoint_url: str | None
    local: bool
    tracking_id: str
    region: str
    events_read: int
    users: int
    sessions: int
    calls_floor: int
    stats: TrackerStats
    wall_seconds: float
    failures: tuple[FailedEvent, ...] = ()
    check: DeliveryCheck | None = None
    readiness: Readiness | None = None
    items_dataset_arn: str | None = None
    items_read: int = 0
    item_stats: TrackerStats | None = None
    items_received: int | None = None
    catalog_seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        """Delivered events per second of wall time."""
        return self.stats.delivered / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def events_per_call(self) -> float:
        """Delivered events per PutEvents call made (retries included)."""
        return self.stats.delivered / self.stats.requests if self.stats.requests else 0.0

    @property
    def problems(self) -> list[str]:
        """Why the run failed, or an empty list when it passed."""
        stats = self.stats
        found = []
        if stats.tracked != self.events_read:
            found.append(f"tracked {stats.tracked} of {self.events_read} events read")
        if stats.failed:
            found.append(f"{stats.failed} event(s) failed")
        if stats.dropped:
            found.append(f"{stats.dropped} event(s) dropped")
        if stats.pending:
            found.append(f"{stats.pending} event(s) still pending")
        if stats.delivered != stats.tracked:
            found.append(f"delivered {stats.delivered} of {stats.tracked} tracked events")
        if self.check is not None and not self.check.passed:
            found.append("the endpoint did not receive exactly the tracked events")
        items = self.item_stats
        if items is not None and items.delivered != self.items_read:
            found.append(f"delivered {items.delivered} of {self.items_read} items")
        if self.items_received is not None and self.items_received != self.items_read:
            found.append(f"the endpoint received {self.items_received} of {self.items_read} items")
        return found

    @property
    def passed(self) -> bool:
        """True when every event read was tracked and delivered, and the check (if any) passed."""
        return not self.problems


def run_demo(
    data: str | os.PathLike[str] | None = None,
    *,
    limit: int | None = None,
    endpoint_url: str | None = None,
    tracking_id: str | None = None,
    region: str = DEFAULT_REGION,
    session_gap_minutes: float = DEFAULT_SESSION_GAP_MINUTES,
    progress: bool = True,
    log: Any = None,
    items_dataset_arn: str | None = None,
) -> DemoResult:
    """Send the MovieLens catalogue and replay its ratings through a Tracker, accounting for
    every item and event.

    First the movies of ``movies.csv`` (beside the ratings file) go to the Items dataset
    through ``put_item`` (``TITLE``, and ``GENRES`` as a multi-valued categorical field), and
    are flushed; then the ratings are tracked. Without ``endpoint_url`` a local endpoint is
    started on 127.0.0.1 (needs the ``testing`` extra), the catalogue goes there unthrottled
    (no quota to respect), and the events it received are compared with those tracked. With
    one, the Tracker sends there with the default AWS credential chain, the catalogue only with
    ``items_dataset_arn`` (under the default PutItems rate limit), and no comparison is made.

    Args:
        data: the ratings file (see :func:`resolve_data_path`; ``None``: the default path).
        limit: replay only the first ``limit`` rows of the file (``None``: all).
        endpoint_url: a PutEvents endpoint to use instead of the local one.
        tracking_id: the event tracker's tracking id; required with ``endpoint_url``, default
            :data:`DEFAULT_LOCAL_TRACKING_ID` locally.
        region: AWS region name of the client.
        session_gap_minutes: minutes without a rating that end a user's session (>= 0).
        progress: show a tqdm progress bar on stderr when it is a terminal (tqdm decides);
            ``False`` never shows it.
        log: a text stream for progress notes (default: ``sys.stderr``).
        items_dataset_arn: the Items dataset of the catalogue; default
            :data:`DEFAULT_LOCAL_ITEMS_DATASET_ARN` locally, none (no catalogue) with
            ``endpoint_url``.

    Returns:
        The :class:`DemoResult`; ``result.passed`` says whether every event arrived.

    Raises:
        FileNotFoundError: the ratings file does not exist.
        MovieLensFormatError: the ratings file cannot be parsed.
        ValueError: ``tracking_id`` is missing with ``endpoint_url``, or an argument is out of
            range.
        ImportError: tqdm (``cli`` extra) or, locally, moto (``testing`` extra) is not installed.
        RuntimeError: the local endpoint did not start.
    """
    from tqdm import tqdm  # first: without the cli extra, fail before any work

    stream = sys.stderr if log is None else log
    _check_arguments(endpoint_url, tracking_id, session_gap_minutes, limit)
    path = resolve_data_path(data)
    total = count_rows(path, limit)
    if endpoint_url is None and items_dataset_arn is None:
        items_dataset_arn = DEFAULT_LOCAL_ITEMS_DATASET_ARN
    movies = movies_path(path)
    plan = _Plan(
        path=path,
        limit=limit,
        tracking_id=tracking_id or DEFAULT_LOCAL_TRACKING_ID,
        region=region,
        session_gap_minutes=session_gap_minutes,
        local=endpoint_url is None,
        items_dataset_arn=items_dataset_arn if movies.is_file() else None,
        movies=movies,
        progress=progress,
        progress_bar=functools.partial(
            tqdm,
            total=total,
            unit="event",
            desc="delivered",
            file=sys.stderr,
            disable=None if progress else True,
            dynamic_ncols=True,
            mininterval=0.25,
        ),
    )
    if endpoint_url is None:
        return _run_local(plan, stream)
    print(f"Replaying {path} to {endpoint_url} (tracking id {plan.tracking_id})", file=stream)
    result, _ = _replay(plan, endpoint_url, None)
    return result


def _check_arguments(
    endpoint_url: str | None, tracking_id: str | None, session_gap_minutes: float, limit: int | None
) -> None:
    """Raise ValueError for the arguments :func:`run_demo` refuses."""
    if endpoint_url is not None and not tracking_id:
        raise ValueError("a tracking id is required when an endpoint URL is given")
    if session_gap_minutes < 0 or not math.isfinite(session_gap_minutes):
        raise ValueError(f"session gap must be >= 0 minutes, got {session_gap_minutes!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit!r}")


@attrs.frozen
class _Plan:
    """What to replay, and how: :func:`run_demo`'s arguments, checked and resolved."""

    path: Path
    limit: int | None
    tracking_id: str
    region: str
    session_gap_minutes: float
    local: bool  # against the local endpoint, whose records the demo checks
    items_dataset_arn: str | None  # where the catalogue goes (None: not sent)
    movies: Path  # the catalogue (movies.csv beside the ratings)
    progress: bool
    progress_bar: Callable[[], Any]  # makes the (tqdm) bar, when the replay starts


def _run_local(plan: _Plan, stream: Any) -> DemoResult:
    """Start the local endpoint, replay into it, and check what it received."""
    import boto3

    from ...testing import serve_personalize_events

    with serve_personalize_events(host="127.0.0.1", port=0) as handle:
        print(f"Local PutEvents endpoint at {handle.endpoint_url}", file=stream)
        print(f"Replaying {plan.path}", file=stream)
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=plan.region
        )
        result, tracked = _replay(plan, handle.endpoint_url, session)
        # Every delivered call was answered, so its events are recorded; the wait is a guard.
        handle.wait_for_events(result.stats.delivered, timeout=5.0)
        check = check_delivery(plan.tracking_id, tracked, handle.events, handle.requests)
        received = None
        if result.item_stats is not None:
            handle.wait_for_items(result.item_stats.delivered, timeout=5.0)
            received = len({item.item_id for item in handle.items})
    return attrs.evolve(result, check=check, items_received=received)


@attrs.define
class _Tally:
    """What the replay tracked: counts for the result, and the events for the local check."""

    keep: bool  # keep the tracked events (only the local check needs them)
    read: int = 0
    users: set[str] = attrs.field(factory=set)
    per_session: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    tracked: dict[str, Event] = attrs.field(factory=dict)

    def add(self, rating: RatingEvent, sent: Event) -> None:
        self.read += 1
        self.users.add(rating.user_id)
        self.per_session[rating.user_id, rating.session_id] += 1
        if self.keep:
            self.tracked[sent.event_id] = sent


def _replay(plan: _Plan, url: str | None, session: Any) -> tuple[DemoResult, dict[str, Event]]:
    """Track every rating through a new Tracker sending to ``url``, then close it.

    Returns:
        The result (without a check) and the tracked events by event id (empty unless local).
    """
    failures = FailureLog()
    tracker = Tracker(
        plan.tracking_id,
        session=session,
        region_name=plan.region,
        endpoint_url=url,
        on_failure=failures,
        target=DEMO_TARGET,
        **_catalog_options(plan),
    )
    catalog_start = time.perf_counter()
    try:
        items_read = _send_catalog(tracker, plan)
    except BaseException:
        tracker.close(timeout=_ABORT_CLOSE_TIMEOUT)
        raise
    catalog_seconds = time.perf_counter() - catalog_start
    tally = _Tally(keep=plan.local)
    bar = plan.progress_bar()

    def show(stats: TrackerStats) -> None:
        bar.update(stats.delivered + stats.failed + stats.dropped - bar.n)
        bar.set_postfix_str(f"tracked {stats.tracked:,}", refresh=False)

    events = sessionize(iter_movielens(plan.path, plan.limit), plan.session_gap_minutes * 60.0)
    start = time.perf_counter()
    try:
        _track_paced(tracker, events, tally, show)
    except BaseException:  # Ctrl-C or a bad row: deliver what we can, without hanging
        bar.close()
        tracker.close(timeout=_ABORT_CLOSE_TIMEOUT)
        raise
    try:
        tracker.close()
    finally:
        bar.close()
    wall = time.perf_counter() - start
    result = DemoResult(
        data_path=plan.path,
        endpoint_url=url,
        local=plan.local,
        tracking_id=plan.tracking_id,
        region=plan.region,
        events_read=tally.read,
        users=len(tally.users),
        sessions=len(tally.per_session),
        calls_floor=calls_floor(tally.per_session.values()),
        stats=tracker.stats(),
        wall_seconds=wall,
        failures=tuple(failures.samples),
        readiness=tracker.readiness(),
        items_dataset_arn=plan.items_dataset_arn,
        items_read=items_read,
        item_stats=tracker.stats().kinds.get("items"),
        catalog_seconds=catalog_seconds,
    )
    return result, tally.tracked


def _catalog_options(plan: _Plan) -> dict[str, Any]:
    """The Tracker's options for the catalogue: its Items dataset; locally no rate limit (the
    local endpoint has no quota: 9,125 movies would take 100 s at the default 9 calls/s)."""
    if plan.items_dataset_arn is None:
        return {}
    options: dict[str, Any] = {"items_dataset_arn": plan.items_dataset_arn}
    if plan.local:
        options["dataset_requests_per_second"] = None
    return options


def _send_catalog(tracker: Tracker, plan: _Plan) -> int:
    """Put every movie (those the replayed ratings rate, with a limit) and flush; return how
    many were put."""
    if plan.items_dataset_arn is None:
        return 0
    rated = None
    if plan.limit is not None:
        rated = {rating.item_id for rating in iter_movielens(plan.path, plan.limit)}
    from tqdm import tqdm

    count, high = 0, int(tracker.max_queue_size * PACE_HIGH)
    with tqdm(unit="item", desc="catalogue", file=sys.stderr, disable=None if plan.progress
              else True, mininterval=0.25) as bar:  # fmt: skip
        for movie in iter_movies(plan.movies, rated):
            properties: dict[str, Any] = {"TITLE": movie.title}
            if movie.genres:
                properties["GENRES"] = list(movie.genres)
            tracker.put_item(movie.item_id, properties)
            count += 1
            bar.update()
            if count % PACE_CHECK_EVERY == 0:  # paced on the queue, as the ratings are
                while tracker.stats().kinds["items"].pending >= high:
                    time.sleep(PACE_POLL)
        tracker.flush()  # the catalogue before the ratings
    return count


def _track_paced(
    tracker: Tracker,
    events: Iterable[RatingEvent],
    tally: _Tally,
    show: Callable[[TrackerStats], None],
) -> None:
    """Track the events, pausing while the queue is nearly full, then flush them all.

    The replay produces events far faster than PutEvents takes them (microseconds per track()
    against milliseconds per call), and the Tracker drops what does not fit in max_queue_size
    (10,000 by default). Rather than raise max_queue_size to the size of the file (memory
    growing with the data, the queue always full), the replay paces itself as a careful
    backfill would: when 90% of the queue is pending it pauses until the senders have brought it
    down to 80%. A pause lasts a fraction of flush_interval, so the session being replayed is
    not sent in partial batches meanwhile.
    """
    high = int(tracker.max_queue_size * PACE_HIGH)
    low = int(tracker.max_queue_size * PACE_LOW)
    since_check = 0
    for event in events:
        sent = tracker.track(
            EVENT_TYPE,
            event.session_id,
            event.user_id,
            event.item_id,
            event_value=event.event_value,
            sent_at=event.sent_at,
        )
        tally.add(event, sent)
        since_check += 1
        if since_check >= PACE_CHECK_EVERY:
            since_check = 0
            stats = tracker.stats()
            if stats.pending >= high:
                while stats.pending > low:
                    time.sleep(PACE_POLL)
                    stats = tracker.stats()
            show(stats)
    # Every session is complete now: send the partial batches at once rather than after
    # flush_interval, and keep the bar moving while the rest is delivered.
    while not tracker.flush(timeout=_PROGRESS_INTERVAL):
        show(tracker.stats())
    show(tracker.stats())
