"""``personalize_tracker.replay()``: send a table of past interactions through a Tracker.

Rows come from a pandas DataFrame, any iterable of dicts, or (for the ``personalize-tracker
replay`` command) a bulk file read by :mod:`._bulk`. Each row is mapped to event fields
(:class:`~._bulk.FieldMapping`), cut into sessions per user when it has no session id, tracked,
and finally flushed. The result is a :class:`ReplaySummary` that prints as text, renders as an
HTML table in Jupyter and plots its timeline with matplotlib.

pandas, tqdm and matplotlib are imported only when used (the ``notebook`` extra installs them).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from typing import TYPE_CHECKING, Any

import attrs

from ._bulk import FieldMapping, RowError, RowFields
from ._demo import _PACE_CHECK_EVERY, _PACE_HIGH, _PACE_LOW, _PACE_POLL, calls_floor
from ._errors import InvalidEventError
from ._html import html_table
from ._records import TrackerStats
from .tracker import Tracker

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "DEFAULT_SESSION_GAP_MINUTES",
    "BadRow",
    "ReplaySample",
    "ReplaySummary",
    "replay",
    "replay_rows",
]

#: Minutes of silence after which a user's next row starts a new session.
DEFAULT_SESSION_GAP_MINUTES = 30.0
#: Bad rows kept in a summary (all are counted in ``bad_row_count``).
MAX_BAD_ROWS_KEPT = 1000
_SAMPLE_INTERVAL = 0.1  # seconds between two timeline samples
_MAX_SAMPLES = 2000  # then every other sample is dropped and the interval doubled
_FLUSH_STEP = 0.25  # seconds per flush() call while the last events are delivered


@attrs.frozen
class BadRow:
    """A row that could not be tracked. It is skipped; the replay goes on.

    Attributes:
        row: 0-based position of the row in the input (``df.iloc[row]``, ``rows[row]``).
        message: what is wrong, naming the field (and column) and the rule.
        line: 1-based line number in the file, for rows read from a file; else ``None``.
    """

    row: int
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else f"row {self.row}"
        return f"{where}: {self.message}"


@attrs.frozen
class ReplaySample:
    """The replay's counters at one moment: cumulative counts since the replay started.

    Attributes:
        seconds: seconds since the replay started (wall clock, monotonic).
        tracked: events tracked.
        delivered: events delivered.
        retried: PutEvents calls that were retries.
        failed: events that failed (any reason).
        dropped: events dropped (queue full).
    """

    seconds: float
    tracked: int
    delivered: int
    retried: int
    failed: int
    dropped: int


@attrs.frozen(repr=False)
class ReplaySummary:
    """What a replay did. Counts are events (rows) unless named otherwise.

    The counters are the Tracker's, taken as differences between its stats before and after the
    replay: events tracked meanwhile by other threads on the same Tracker are included.

    Attributes:
        rows_read: rows read from the input (bad rows included).
        tracked: events tracked (rows that passed every check).
        delivered: events delivered by PutEvents.
        failed: events given up on (see ``failed_by_reason``).
        failed_by_reason: ``failed`` by :class:`~personalize_tracker.FailureReason` value.
        dropped: events dropped because the queue was full (the replay paces itself so that
            this stays 0 unless other threads fill the queue too).
        pending: events still pending when the replay returned (0 unless ``flush_timeout``
            passed).
        bad_rows: the first 1,000 rows that could not be tracked, in input order.
        bad_row_count: all rows that could not be tracked.
        users: distinct user ids tracked.
        sessions: distinct (user, session) pairs tracked.
        calls_floor: the fewest PutEvents calls that could carry those sessions
            (sum over sessions of ceil(events / 10)).
        put_events_calls: PutEvents calls made (retries and split batches included).
        retried_calls: of those, retries.
        wall_seconds: seconds from the first row read until the final flush returned.
        timeline: samples of the counters over time, about every 0.1 s (for :meth:`plot`).
    """

    rows_read: int
    tracked: int
    delivered: int
    failed: int
    failed_by_reason: dict[str, int]
    dropped: int
    pending: int
    bad_rows: tuple[BadRow, ...]
    bad_row_count: int
    users: int
    sessions: int
    calls_floor: int
    put_events_calls: int
    retried_calls: int
    wall_seconds: float
    timeline: tuple[ReplaySample, ...] = ()

    @property
    def events_per_second(self) -> float:
        """Events delivered per second of wall time."""
        return self.delivered / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def events_per_call(self) -> float:
        """Events delivered per PutEvents call made."""
        return self.delivered / self.put_events_calls if self.put_events_calls else 0.0

    @property
    def problems(self) -> list[str]:
        """What went wrong, one phrase each; empty when every row was delivered."""
        found = []
        if self.bad_row_count:
            found.append(f"{self.bad_row_count:,} bad row(s) skipped")
        if self.failed:
            found.append(f"{self.failed:,} event(s) failed")
        if self.dropped:
            found.append(f"{self.dropped:,} event(s) dropped")
        if self.pending:
            found.append(f"{self.pending:,} event(s) still pending")
        return found

    @property
    def ok(self) -> bool:
        """True when every row read was tracked and delivered."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data (seconds, events per second, counts).

        Bad rows are listed as ``{"row", "line", "message"}``; the timeline is left out.
        """
        return {
            "result": "PASS" if self.ok else "FAIL",
            "problems": self.problems,
            "rows_read": self.rows_read,
            "tracked": self.tracked,
            "delivered": self.delivered,
            "failed": self.failed,
            "failed_by_reason": dict(self.failed_by_reason),
            "dropped": self.dropped,
            "pending": self.pending,
            "bad_row_count": self.bad_row_count,
            "bad_rows": [
                {"row": bad.row, "line": bad.line, "message": bad.message} for bad in self.bad_rows
            ],
            "users": self.users,
            "sessions": self.sessions,
            "put_events_calls": self.put_events_calls,
            "retried_calls": self.retried_calls,
            "calls_floor": self.calls_floor,
            "events_per_call": round(self.events_per_call, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "events_per_second": round(self.events_per_second, 1),
        }

    def _rows(self) -> list[tuple[str, str]]:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.failed_by_reason.items()))
        return [
            ("rows read", f"{self.rows_read:,}"),
            ("tracked", f"{self.tracked:,} ({self.users:,} users, {self.sessions:,} sessions)"),
            ("delivered", f"{self.delivered:,}"),
            ("failed", f"{self.failed:,}" + (f" ({reasons})" if reasons else "")),
            ("dropped", f"{self.dropped:,}"),
            ("pending", f"{self.pending:,}"),
            ("bad rows", f"{self.bad_row_count:,}"),
            (
                "PutEvents calls",
                f"{self.put_events_calls:,} ({self.retried_calls:,} retried), "
                f"{self.events_per_call:.2f} events per call (floor {self.calls_floor:,})",
            ),
            ("wall time", f"{self.wall_seconds:.2f} s"),
            ("throughput", f"{self.events_per_second:,.0f} events/s delivered"),
        ]

    def __repr__(self) -> str:
        return (
            f"<ReplaySummary {'ok' if self.ok else 'FAIL'}: rows_read={self.rows_read} "
            f"tracked={self.tracked} delivered={self.delivered} failed={self.failed} "
            f"dropped={self.dropped} pending={self.pending} bad_rows={self.bad_row_count} "
            f"wall_seconds={self.wall_seconds:.2f}>"
        )

    def __str__(self) -> str:
        rows = self._rows()
        width = max(len(label) for label, _ in rows)
        lines = [f"  {label.ljust(width)}  {value}" for label, value in rows]
        lines.extend(f"    {bad}" for bad in self.bad_rows[:10])
        if self.bad_row_count > 10:
            lines.append(f"    ... and {self.bad_row_count - 10:,} more bad rows")
        lines.append(
            "PASS: every row delivered" if self.ok else "FAIL: " + "; ".join(self.problems)
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """An HTML table of the summary (Jupyter shows it for a cell's last value)."""
        verdict = "every row delivered" if self.ok else "; ".join(self.problems)
        extra = ""
        if self.bad_rows:
            extra = html_table(
                [
                    (str(bad.line if bad.line is not None else bad.row), bad.message)
                    for bad in self.bad_rows[:10]
                ],
                caption=f"Bad rows (first {min(10, len(self.bad_rows))} of {self.bad_row_count:,})",
                header=("line" if self.bad_rows[0].line is not None else "row", "problem"),
            )
        return html_table(self._rows(), caption=f"Replay: {verdict}", ok=self.ok) + extra

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw delivered events over time, with retried calls and failed events.

        Needs matplotlib (the ``notebook`` extra).

        Args:
            ax: the matplotlib Axes to draw on; ``None`` creates a figure.

        Returns:
            The Axes: x is seconds since the replay started, y cumulative counts; delivered
            events on the left axis, retried calls and failed plus dropped events on the same
            axis (their lines stay near 0 when all went well).

        Raises:
            ImportError: matplotlib is not installed.
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8, 4))
        samples = self.timeline or (ReplaySample(0.0, 0, 0, 0, 0, 0),)
        seconds = [s.seconds for s in samples]
        ax.plot(seconds, [s.delivered for s in samples], label="delivered events", lw=2)
        ax.plot(seconds, [s.retried for s in samples], label="retried calls", ls="--")
        ax.plot(seconds, [s.failed + s.dropped for s in samples], label="failed + dropped", ls=":")
        ax.set_xlabel("seconds since the replay started")
        ax.set_ylabel("cumulative count")
        ax.set_title(
            f"{self.delivered:,} events delivered in {self.wall_seconds:.1f} s "
            f"({self.events_per_second:,.0f}/s)"
        )
        ax.legend(loc="upper left")
        ax.grid(True, alpha=0.3)
        return ax


# --------------------------------------------------------------------------------------------
# input


def _records_of(data: Any) -> tuple[Iterable[tuple[int, int | None, Any]], int | None, Any]:
    """(rows as (position, line, record), total if known, columns of a DataFrame or None)."""
    if hasattr(data, "columns") and hasattr(data, "itertuples"):  # a pandas DataFrame
        columns = [str(c) for c in data.columns]
        tuples = data.itertuples(index=False, name=None)
        rows = ((i, None, dict(zip(columns, t, strict=True))) for i, t in enumerate(tuples))
        return rows, len(data), columns
    if isinstance(data, (str, bytes, Mapping)):
        raise TypeError(
            f"replay() takes a DataFrame or an iterable of records, got {type(data).__name__}"
        )
    total = len(data) if isinstance(data, Sized) else None
    return ((i, None, record) for i, record in enumerate(data)), total, None


@attrs.define(slots=True)
class _Prepared:
    position: int
    line: int | None
    fields: RowFields


def _sessions(
    rows: Iterable[_Prepared], gap_seconds: float, prefix: str
) -> Iterator[tuple[_Prepared, str | int]]:
    """Give each row a session id: its own, or ``<prefix><user>-<n>`` cut at gaps per user.

    Consecutive rows of one user are sorted by time (stable; rows without a time go last), as
    MovieLens-style files group a user's rows in no time order. A user's next row starts a new
    session when more than ``gap_seconds`` passed since that user's previous row (or it is that
    much earlier). The per-user state (last time, session count) lives across runs, so
    time-ordered logs with users interleaved are cut correctly too.
    """
    last: dict[str | int, tuple[float | None, int]] = {}

    def user_key(row: _Prepared) -> Any:
        return row.fields.user_id

    for user, group in itertools.groupby(rows, key=user_key):
        run = sorted(
            group, key=lambda r: math.inf if r.fields.sent_at is None else r.fields.sent_at
        )
        if user is None:  # rows with their own session id (checked before)
            for row in run:
                assert row.fields.session_id is not None
                yield row, row.fields.session_id
            continue
        previous, number = last.get(user, (None, 0))
        for row in run:
            if row.fields.session_id is not None:
                yield row, row.fields.session_id
                continue
            sent_at = row.fields.sent_at
            if number == 0 or (
                sent_at is not None
                and previous is not None
                and abs(sent_at - previous) > gap_seconds
            ):
                number += 1
            if sent_at is not None:
                previous = sent_at
            yield row, f"{prefix}{user}-{number}"
        last[user] = (previous, number)


# --------------------------------------------------------------------------------------------
# the run


class _Counters:
    """Baseline-relative counters and the timeline."""

    def __init__(self, tracker: Tracker, on_progress: Callable[[TrackerStats], None]) -> None:
        self.tracker = tracker
        self.base = tracker.stats()
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
        stats = self.delta(self.tracker.stats())
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
) -> ReplaySummary:
    """:func:`replay`, plus what the command line needs.

    Args:
        located: ``data`` yields ``(line, record_or_problem)`` pairs (as the readers of
            :mod:`._bulk` do): bad rows then carry their line, and a ``str`` in place of a
            record is a problem found while reading.
        total: the number of rows, for the progress bar, when ``data`` has no ``len()``.
        progress_file: the stream the bar writes to (default: tqdm's, stderr).
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
    if located:
        rows: Iterable[tuple[int, int | None, Any]] = (
            (i, line, record) for i, (line, record) in enumerate(data)
        )
    else:
        rows, known, columns = _records_of(data)
        total = known if total is None else total
        if columns is not None:
            missing = fields.missing_columns(columns)
            if missing:
                raise ValueError(
                    f"the DataFrame has no column {', '.join(map(repr, missing))}; its columns: "
                    f"{', '.join(columns)}"
                )
    if limit is not None:
        rows = itertools.islice(rows, limit)
        total = limit if total is None else min(total, limit)

    bar: Any = None
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - the notebook and cli extras install it
            pass
        else:
            bar = tqdm(total=total, unit="row", desc="replay", file=progress_file, mininterval=0.25)

    bad: list[BadRow] = []
    bad_count = 0
    read = 0

    def show(stats: TrackerStats) -> None:
        if bar is not None:
            done = bad_count + stats.delivered + stats.failed + stats.dropped
            bar.update(done - bar.n)
            bar.set_postfix_str(f"tracked {stats.tracked:,}", refresh=False)

    counters = _Counters(tracker, show)

    def reject(position: int, line: int | None, message: str) -> None:
        nonlocal bad_count
        bad_count += 1
        if len(bad) < MAX_BAD_ROWS_KEPT:
            bad.append(BadRow(position, message, line))

    def prepared() -> Iterator[_Prepared]:
        nonlocal read
        for position, line, record in rows:
            read += 1
            if isinstance(record, str):
                reject(position, line, record)
                continue
            if not isinstance(record, Mapping):
                reject(position, line, f"a {type(record).__name__}, not a record (a mapping)")
                continue
            try:
                row = fields.extract(record)
            except RowError as exc:
                reject(position, line, str(exc))
                continue
            if row.event_type is None:
                reject(position, line, "no event type: map an event_type column or pass one")
            elif row.session_id is None and row.user_id is None:
                where = fields.plan(list(record)).get("user_id")
                column = f" (column {where!r} is empty)" if where else " (no user id column)"
                reject(position, line, f"no user id and no session id{column}")
            else:
                yield _Prepared(position, line, row)

    size = tracker.max_queue_size
    high = max(1, int(size * _PACE_HIGH))
    low = min(high - 1, int(size * _PACE_LOW))
    # Look at the queue often enough that it cannot fill between two looks.
    check_every = max(1, min(_PACE_CHECK_EVERY, size - high))
    users: set[str | int] = set()
    per_session: dict[tuple[str | int | None, str | int], int] = {}
    since_check = 0
    try:
        for row, session_id in _sessions(prepared(), session_gap_minutes * 60.0, session_prefix):
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
                    event_id=f.event_id,
                    recommendation_id=f.recommendation_id,
                    impression=f.impression,
                    metric_attribution_source=f.metric_attribution_source,
                )
            except InvalidEventError as exc:
                reject(row.position, row.line, str(exc))
                continue
            if f.user_id is not None:
                users.add(f.user_id)
            key = (f.user_id, session_id)
            per_session[key] = per_session.get(key, 0) + 1
            since_check += 1
            if since_check >= check_every:
                since_check = 0
                stats = counters.look()
                if stats.pending >= high:
                    if tracker.sync:
                        tracker.flush()  # no sender threads: make room on this thread
                    else:
                        while stats.pending > low:
                            time.sleep(_PACE_POLL)
                            stats = counters.look()
        deadline = None if flush_timeout is None else time.monotonic() + flush_timeout
        while True:
            step = _FLUSH_STEP
            if deadline is not None:
                step = min(step, max(0.0, deadline - time.monotonic()))
            if tracker.flush(timeout=step) or (
                deadline is not None and time.monotonic() >= deadline
            ):
                break
            counters.look()
        final = counters.look(force=True)
    finally:
        if bar is not None:
            bar.close()
    bad.sort(key=lambda b: b.row)
    return ReplaySummary(
        rows_read=read,
        tracked=final.tracked,
        delivered=final.delivered,
        failed=final.failed,
        failed_by_reason=dict(final.failed_by_reason),
        dropped=final.dropped,
        pending=final.pending,
        bad_rows=tuple(bad),
        bad_row_count=bad_count,
        users=len(users),
        sessions=len(per_session),
        calls_floor=calls_floor(per_session.values()),
        put_events_calls=final.requests,
        retried_calls=final.retried,
        wall_seconds=counters.samples[-1].seconds,
        timeline=tuple(counters.samples),
    )
