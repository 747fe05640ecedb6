"""``personalize_tracker.replay()``: send a table of past interactions through a Tracker.

Rows come from a pandas DataFrame, any iterable of dicts, or (for the ``personalize-tracker
replay`` command) a bulk file read by :mod:`..bulk`. Each row is mapped to event fields
(:class:`~..bulk.FieldMapping`), cut into sessions per user when it has no session id
(:mod:`.rows`), tracked, and finally flushed. The result is a :class:`~.summary.ReplaySummary`
that prints as text, renders as an HTML table in Jupyter and plots its timeline with matplotlib.

pandas, tqdm and matplotlib are imported only when used (the ``notebook`` extra installs them).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ... import InvalidEventError, TrackerStats
from ...tracker import Tracker
from ..backfill import PACE_CHECK_EVERY, PACE_HIGH, PACE_LOW, PACE_POLL, calls_floor
from ..bulk.fields import FieldMapping
from .ids import stable_event_id
from .rows import BadRows, Prepared, RowReader, cut_sessions, input_rows
from .summary import ReplaySample, ReplaySummary

__all__ = [
    "DEFAULT_SESSION_GAP_MINUTES",
    "Counters",
    "Pacer",
    "Progress",
    "flush_counting",
    "replay",
    "replay_rows",
]

#: Minutes of silence after which a user's next row starts a new session.
DEFAULT_SESSION_GAP_MINUTES = 30.0
_SAMPLE_INTERVAL = 0.1  # seconds between two timeline samples
_MAX_SAMPLES = 2000  # then every other sample is dropped and the interval doubled
_FLUSH_STEP = 0.25  # seconds per flush() call while the last events are delivered


class Counters:
    """Baseline-relative counters and the timeline.

    Args:
        tracker: the Tracker replayed through.
        on_progress: called with the counters at each look (the progress bar).
        read: how to take the counters (default ``tracker.stats``; a dataset replay reads its
            kind's).
    """

    def __init__(
        self,
        tracker: Tracker,
        on_progress: Callable[[TrackerStats], None],
        read: Callable[[], TrackerStats] | None = None,
    ) -> None:
        self.tracker = tracker
        self.read = tracker.stats if read is None else read
        self.base = self.read()
        self.start = time.monotonic()
        self.samples: list[ReplaySample] = [ReplaySample(0.0, 0, 0, 0, 0, 0)]
        self.interval = _SAMPLE_INTERVAL
        self.next_sample = self.start + self.interval
        self.on_progress = on_progress

    def delta(self, stats: TrackerStats) -> TrackerStats:
        base = self.base
        reasons = {
            reason: count - base.failed_by_reason.get(reason, 0)
            for reason, count in stats.failed_by_reason.items()
            if count - base.failed_by_reason.get(reason, 0)
        }
        return TrackerStats(
            tracked=stats.tracked - base.tracked,
            delivered=stats.delivered - base.delivered,
            failed=stats.failed - base.failed,
            dropped=stats.dropped - base.dropped,
            pending=stats.pending,
            retried=stats.retried - base.retried,
            requests=stats.requests - base.requests,
            failed_by_reason=reasons,
        )

    def look(self, force: bool = False) -> TrackerStats:
        """Take the stats; add a timeline sample when one is due; report progress."""
        stats = self.delta(self.read())
        now = time.monotonic()
        if force or now >= self.next_sample:
            self.samples.append(
                ReplaySample(
                    now - self.start,
                    stats.tracked,
                    stats.delivered,
                    stats.retried,
                    stats.failed,
                    stats.dropped,
                )
            )
            if len(self.samples) > _MAX_SAMPLES:
                self.samples = self.samples[::2]
                self.interval *= 2
            self.next_sample = now + self.interval
        self.on_progress(stats)
        return stats


def replay(
    tracker: Tracker,
    data: Any,
    mapping: Mapping[str, Any] | None = None,
    *,
    event_type: str | None = None,
    session_gap_minutes: float = DEFAULT_SESSION_GAP_MINUTES,
    session_prefix: str = "replay-",
    limit: int | None = None,
    progress: bool = True,
    flush_timeout: float | None = None,
    stable_ids: bool = True,
    id_namespace: str = "",
) -> ReplaySummary:
    """Replay past interactions through a Tracker: track every row, then flush.

    Each row becomes one ``tracker.track()`` call. Rows that cannot (a missing user id, a
    timestamp in milliseconds, a value breaking a PutEvents rule...) are skipped and listed in
    the summary's ``bad_rows`` with their position and the reason; they never stop the replay.
    The replay paces itself so that nothing is dropped: when 90% of the Tracker's
    ``max_queue_size`` is pending it waits until the senders have brought it down to 80% (with
    ``sync=True`` it flushes). At the end it flushes the Tracker (it does not close it).

    Example::

        summary = replay(tracker, ratings, {"user_id": "userId", "item_id": "movieId",
                                            "event_value": "rating", "timestamp": "timestamp"},
                         event_type="rating")
        summary          # an HTML table in Jupyter
        summary.plot()   # delivered events over time

    Args:
        tracker: the Tracker to send through (open; any options).
        data: a pandas DataFrame, or any iterable of records (mappings of column -> value), e.g.
            ``df.to_dict("records")`` or ``csv.DictReader``.
        mapping: which column holds which field (see :class:`FieldMapping`): keys
            ``user_id``, ``item_id``, ``event_type``, ``timestamp`` (epoch seconds, an aware
            datetime or an ISO 8601 string with an offset; sent as ``sentAt``), ``event_value``,
            ``impression`` (ids joined with ``|``, or a list), ``recommendation_id``,
            ``session_id``, ``event_id``, ``metric_attribution_source``, ``properties`` (a column
            of JSON objects) and ``context`` (contextual-metadata columns: a list, a dict
            ``{property: column}`` or ``"*"`` for all others). Unmapped fields are found by
            column name (``userId``, ``USER_ID`` and ``user_id`` all work). ``None``: every field
            by name, and every other column is context.
        event_type: the event type of rows without one (no column, or an empty value).
        session_gap_minutes: for rows without a session id: minutes of silence after which a
            user's next row starts a new session (>= 0). Sessions are named
            ``<session_prefix><user id>-<n>``.
        session_prefix: the start of generated session ids.
        limit: replay at most this many rows (``None``: all).
        progress: show a ``tqdm.auto`` progress bar (a widget in Jupyter; on stderr elsewhere)
            when tqdm is installed. The bar counts rows done: delivered, failed or bad.
        flush_timeout: seconds the final flush may take (``None``: until every event is
            delivered or failed; retries are bounded by the Tracker's ``retry_deadline``).
        stable_ids: give each row without an ``event_id`` a deterministic one (``rp-`` + the
            SHA-256 of ``id_namespace``, the row's position and its content; see
            :func:`~personalize_tracker._tools.replay.ids.stable_event_id`), so that replaying
            the same data again is harmless: Amazon Personalize does not train on an event id
            it already has. ``False``: random ids (each run sends new events).
        id_namespace: what tells this data apart from other data with equal rows at the same
            positions (e.g. the name of its source); rows that are equal and at the same
            position in two inputs of one namespace get the same id.

    Returns:
        The :class:`ReplaySummary`.

    Raises:
        TypeError: ``data`` is neither a DataFrame nor an iterable of records.
        ValueError: a bad ``mapping`` (unknown key, a DataFrame without a mapped column) or a
            negative ``session_gap_minutes`` or ``limit``.
        TrackerClosedError: the Tracker is (or gets) closed.
    """
    return replay_rows(
        tracker,
        data,
        mapping,
        event_type=event_type,
        session_gap_minutes=session_gap_minutes,
        session_prefix=session_prefix,
        limit=limit,
        progress=progress,
        flush_timeout=flush_timeout,
        stable_ids=stable_ids,
        id_namespace=id_namespace,
    )


def replay_rows(
    tracker: Tracker,
    data: Any,
    mapping: Mapping[str, Any] | FieldMapping | None = None,
    *,
    event_type: str | None = None,
    session_gap_minutes: float = DEFAULT_SESSION_GAP_MINUTES,
    session_prefix: str = "replay-",
    limit: int | None = None,
    progress: bool = True,
    flush_timeout: float | None = None,
    total: int | None = None,
    located: bool = False,
    progress_file: Any = None,
    stable_ids: bool = True,
    id_namespace: str = "",
    advice: Mapping[str, str] | None = None,
) -> ReplaySummary:
    """:func:`replay`, plus what the command line needs.

    Args:
        located: ``data`` yields ``(line, record_or_problem)`` pairs (as the readers of
            :mod:`..bulk` do): bad rows then carry their line, and a ``str`` in place of a
            record is a problem found while reading.
        total: the number of rows, for the progress bar, when ``data`` has no ``len()``.
        progress_file: the stream the bar writes to (default: tqdm's, stderr).
        advice: phrases of bad-row messages to replace (the CLI: Python advice such as
            :data:`~.rows.EVENT_TYPE_HINT` by its flags; see :class:`~.rows.BadRows`).
        others: as :func:`replay`.
    """
    if session_gap_minutes < 0 or not math.isfinite(session_gap_minutes):
        raise ValueError(f"session_gap_minutes must be >= 0, got {session_gap_minutes!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit!r}")
    fields = (
        mapping
        if isinstance(mapping, FieldMapping)
        else FieldMapping(mapping, event_type=event_type)
    )
    if event_type is not None:
        fields.event_type = event_type
    rows, total = input_rows(data, fields, located=located, total=total, limit=limit)
    bad = BadRows(advice)
    bar = Progress(progress, total, progress_file, bad)
    counters = Counters(tracker, bar.show)
    reader = RowReader(rows, fields, bad)
    tally = _Tally()
    try:
        sessions = cut_sessions(reader, session_gap_minutes * 60.0, session_prefix)
        ids = _Ids(id_namespace) if stable_ids else None
        _track_paced(tracker, sessions, counters, bad, tally, ids)
        final = flush_counting(tracker, counters, flush_timeout)
    finally:
        bar.close()
    bad.kept.sort(key=lambda b: b.row)
    return ReplaySummary(
        rows_read=reader.read,
        tracked=final.tracked,
        delivered=final.delivered,
        failed=final.failed,
        failed_by_reason=dict(final.failed_by_reason),
        dropped=final.dropped,
        pending=final.pending,
        bad_rows=tuple(bad.kept),
        bad_row_count=bad.count,
        users=len(tally.users),
        sessions=len(tally.per_session),
        calls_floor=calls_floor(tally.per_session.values()),
        put_events_calls=final.requests,
        retried_calls=final.retried,
        wall_seconds=counters.samples[-1].seconds,
        timeline=tuple(counters.samples),
    )


class Progress:
    """The progress bar (``tqdm.auto``), when asked for and tqdm is installed: rows done
    (delivered, failed, dropped or bad) out of the total."""

    def __init__(self, enabled: bool, total: int | None, file: Any, bad: BadRows) -> None:
        self._bad = bad
        self._bar: Any = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # pragma: no cover - the notebook and cli extras install it
                pass
            else:
                self._bar = tqdm(
                    total=total, unit="row", desc="replay", file=file, mininterval=0.25
                )

    def show(self, stats: TrackerStats) -> None:
        bar = self._bar
        if bar is not None:
            done = self._bad.count + stats.delivered + stats.failed + stats.dropped
            bar.update(done - bar.n)
            bar.set_postfix_str(f"tracked {stats.tracked:,}", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _Tally:
    """The users and sessions tracked, for the summary."""

    def __init__(self) -> None:
        self.users: set[str | int] = set()
        self.per_session: dict[tuple[str | int | None, str | int], int] = {}

    def add(self, user_id: str | int | None, session_id: str | int) -> None:
        if user_id is not None:
            self.users.add(user_id)
        key = (user_id, session_id)
        self.per_session[key] = self.per_session.get(key, 0) + 1


class _Ids:
    """Stable event ids of one replay's rows (see :func:`stable_event_id`)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def of(self, row: Prepared) -> str:
        return row.fields.event_id or stable_event_id(self.namespace, row.position, row.fields)


class Pacer:
    """Keeps a replay from filling the Tracker's queue: :meth:`tick` after each record put
    looks at the counters now and then and, while the queue is nearly full, waits (flushes
    instead with ``sync=True``)."""

    def __init__(self, tracker: Tracker, counters: Counters) -> None:
        self.tracker, self.counters = tracker, counters
        size = tracker.max_queue_size
        self.high = max(1, int(size * PACE_HIGH))
        self.low = min(self.high - 1, int(size * PACE_LOW))
        # Look at the queue often enough that it cannot fill between two looks.
        self.check_every = max(1, min(PACE_CHECK_EVERY, size - self.high))
        self.since_check = 0

    def tick(self) -> None:
        """Count one record put; pause while too many are pending."""
        self.since_check += 1
        if self.since_check < self.check_every:
            return
        self.since_check = 0
        stats = self.counters.look()
        if stats.pending >= self.high:
            if self.tracker.sync:
                self.tracker.flush()  # no sender threads: make room on this thread
            else:
                while stats.pending > self.low:
                    time.sleep(PACE_POLL)
                    stats = self.counters.look()


def _track_paced(
    tracker: Tracker,
    sessions: Iterable[tuple[Prepared, str | int]],
    counters: Counters,
    bad: BadRows,
    tally: _Tally,
    ids: _Ids | None,
) -> None:
    """Track every row; pause while the queue is nearly full (flush instead with ``sync=True``).

    A row that ``track()`` refuses (a value breaking a PutEvents rule) goes to ``bad``.
    """
    pacer = Pacer(tracker, counters)
    for row, session_id in sessions:
        f = row.fields
        try:
            tracker.track(
                f.event_type or "",
                session_id,
                f.user_id,
                f.item_id,
                event_value=f.event_value,
                properties=f.properties,
                sent_at=f.sent_at,
                event_id=f.event_id if ids is None else ids.of(row),
                recommendation_id=f.recommendation_id,
                impression=f.impression,
                metric_attribution_source=f.metric_attribution_source,
            )
        except InvalidEventError as exc:
            bad.reject(row.position, row.line, str(exc))
            continue
        tally.add(f.user_id, session_id)
        pacer.tick()


def flush_counting(
    tracker: Tracker, counters: Counters, flush_timeout: float | None
) -> TrackerStats:
    """Flush the Tracker (until ``flush_timeout`` seconds passed, if given), updating progress
    meanwhile; return the final counters."""
    deadline = None if flush_timeout is None else time.monotonic() + flush_timeout
    while True:
        step = _FLUSH_STEP
        if deadline is not None:
            step = min(step, max(0.0, deadline - time.monotonic()))
        if tracker.flush(timeout=step) or (deadline is not None and time.monotonic() >= deadline):
            break
        counters.look()
    return counters.look(force=True)
