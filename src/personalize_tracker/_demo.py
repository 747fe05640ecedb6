"""The ``personalize-tracker demo`` command's engine: replay MovieLens ratings through a Tracker.

The data functions (:func:`resolve_data_path`, :func:`iter_movielens`, :func:`sessionize`,
:func:`calls_floor`) and the delivery check (:func:`check_delivery`) are plain, small and tested
on their own; :func:`run_demo` ties them to a :class:`~personalize_tracker.Tracker` and a local
PutEvents endpoint. Nothing here needs click; the progress bar needs tqdm (the ``cli`` extra) and
the local endpoint needs moto (the ``testing`` extra), both imported only when used.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from ._event import Event
from ._records import FailedEvent, TrackerStats
from .tracker import Tracker

if TYPE_CHECKING:
    from .testing import RecordedEvent, RecordedRequest

__all__ = [
    "DEFAULT_DATA_PATH",
    "DEFAULT_LOCAL_TRACKING_ID",
    "DEFAULT_REGION",
    "DEFAULT_SESSION_GAP_MINUTES",
    "EVENT_TYPE",
    "DeliveryCheck",
    "DemoResult",
    "MovieLensFormatError",
    "Rating",
    "RatingEvent",
    "calls_floor",
    "check_delivery",
    "count_rows",
    "iter_movielens",
    "resolve_data_path",
    "run_demo",
    "sessionize",
    "summary_dict",
    "summary_text",
]

#: Where the MovieLens ratings live, relative to the current directory or the repository root.
DEFAULT_DATA_PATH = Path("datasets") / "movielens-latest-small" / "ratings.csv"
#: Minutes without a rating after which a user's next rating starts a new session.
DEFAULT_SESSION_GAP_MINUTES = 30.0
#: ``eventType`` of every replayed rating.
EVENT_TYPE = "rating"
#: Tracking id used against the local endpoint, which accepts any.
DEFAULT_LOCAL_TRACKING_ID = "demo-tracking-id"
DEFAULT_REGION = "us-east-1"

_COLUMNS = ("userId", "movieId", "rating", "timestamp")
# Pacing (see run_demo): stop tracking when this share of max_queue_size is pending, resume when
# pending fell to the lower share; poll every _PACE_POLL seconds while paused.
_PACE_HIGH = 0.9
_PACE_LOW = 0.8
_PACE_CHECK_EVERY = 100  # events tracked between two looks at stats().pending
_PACE_POLL = 0.005  # seconds
_ABORT_CLOSE_TIMEOUT = 5.0  # seconds close() may take when the replay is interrupted
_PROGRESS_INTERVAL = 0.25  # seconds between progress updates while the last events are sent
_MAX_SAMPLES = 5  # problems of each kind quoted in the summary


# --------------------------------------------------------------------------------------------
# data


class MovieLensFormatError(ValueError):
    """A MovieLens ratings file has no usable header, or a row that cannot be read."""


class Rating(NamedTuple):
    """One row of a MovieLens ``ratings.csv``.

    Attributes:
        user_id: ``userId`` as written in the file (str).
        item_id: ``movieId`` as written in the file (str).
        rating: the rating, 0.5 to 5.0 stars in half-star steps (float).
        timestamp: when it was given, Unix epoch seconds (int, UTC).
    """

    user_id: str
    item_id: str
    rating: float
    timestamp: int


class RatingEvent(NamedTuple):
    """A rating mapped to the fields of one PutEvents interaction event (type :data:`EVENT_TYPE`).

    Attributes:
        user_id: ``userId`` (the MovieLens ``userId``).
        session_id: ``sessionId``, ``ml-<userId>-<n>`` with n counting the user's sessions from 1.
        item_id: ``itemId`` (the MovieLens ``movieId``).
        event_value: ``eventValue``, the rating in stars (float).
        sent_at: ``sentAt``, the rating's Unix timestamp in epoch seconds (int).
    """

    user_id: str
    session_id: str
    item_id: str
    event_value: float
    sent_at: int


def resolve_data_path(data: str | os.PathLike[str] | None, *, cwd: Path | None = None) -> Path:
    """Find the ratings file to replay.

    Args:
        data: the path given by the user, or ``None`` for :data:`DEFAULT_DATA_PATH`. A relative
            path is looked up in ``cwd``, then (for the default path only) under the repository
            root this package was installed from in editable mode.
        cwd: the directory relative paths start from (default: the current directory).

    Returns:
        The path of an existing file.

    Raises:
        FileNotFoundError: no such file; the message lists every place looked at.
    """
    base = Path.cwd() if cwd is None else cwd
    given = Path(data) if data is not None else DEFAULT_DATA_PATH
    candidates = [given if given.is_absolute() else base / given]
    if data is None:
        # src/personalize_tracker/_demo.py -> the repository root of an editable install.
        candidates.append(Path(__file__).resolve().parents[2] / DEFAULT_DATA_PATH)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in dict.fromkeys(candidates))
    hint = (
        " (run from a clone of the repository, or pass --data PATH to a MovieLens ratings.csv)"
        if data is None
        else ""
    )
    raise FileNotFoundError(f"ratings file not found; looked at: {tried}{hint}")


def _open_csv(path: Path) -> Any:
    return path.open(newline="", encoding="utf-8")


def count_rows(path: str | os.PathLike[str], limit: int | None = None) -> int:
    """Count the data rows of a CSV file (lines after the header, blank lines excluded).

    A cheap pass over the file (tens of milliseconds for MovieLens small) that gives the progress
    bar its total.

    Args:
        path: the CSV file.
        limit: stop counting at this many rows; ``None`` counts them all.

    Returns:
        The number of non-blank lines after the first, at most ``limit``.

    Raises:
        OSError: the file cannot be read.
    """
    with Path(path).open("rb") as stream:
        next(stream, None)
        rows = sum(1 for line in stream if line.strip())
    return rows if limit is None else min(rows, limit)


def iter_movielens(path: str | os.PathLike[str], limit: int | None = None) -> Iterator[Rating]:
    """Stream the rows of a MovieLens ``ratings.csv`` (``userId,movieId,rating,timestamp``).

    The file is read lazily with the :mod:`csv` module; columns are found by their header names,
    in any order. Blank lines are skipped.

    Args:
        path: the ratings file.
        limit: yield at most this many rows, the first ones of the file (``None``: all; >= 0).

    Yields:
        :class:`Rating` records, in file order.

    Raises:
        ValueError: ``limit`` is negative.
        MovieLensFormatError: the header lacks one of the four columns, or a row has a missing
            field, an empty id, a non-numeric or non-finite rating, or a timestamp that is not a
            whole number of seconds >= 0 (the message names the file and line).
        OSError: the file cannot be read.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or >= 0, got {limit!r}")
    if limit == 0:
        return
    where = Path(path)
    with _open_csv(where) as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise MovieLensFormatError(f"{where}: the file is empty; expected a header line")
        names = [name.strip().lstrip("\ufeff") for name in header]
        missing = [column for column in _COLUMNS if column not in names]
        if missing:
            raise MovieLensFormatError(
                f"{where}:1: the header lacks {', '.join(missing)}; expected "
                f"{','.join(_COLUMNS)}, got {','.join(names)}"
            )
        u, m, r, t = (names.index(column) for column in _COLUMNS)
        width = max(u, m, r, t) + 1
        count = 0
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            line = reader.line_num
            if len(row) < width:
                raise MovieLensFormatError(
                    f"{where}:{line}: {len(row)} fields, expected at least {width}"
                )
            user_id, item_id = row[u].strip(), row[m].strip()
            if not user_id or not item_id:
                raise MovieLensFormatError(f"{where}:{line}: empty userId or movieId")
            try:
                rating = float(row[r])
                timestamp = int(row[t])
            except ValueError:
                raise MovieLensFormatError(
                    f"{where}:{line}: rating {row[r]!r} or timestamp {row[t]!r} is not a number"
                ) from None
            if not math.isfinite(rating):
                raise MovieLensFormatError(f"{where}:{line}: rating {row[r]!r} is not finite")
            if timestamp < 0:
                raise MovieLensFormatError(f"{where}:{line}: timestamp {timestamp} is negative")
            yield Rating(user_id, item_id, rating, timestamp)
            count += 1
            if limit is not None and count >= limit:
                return


def sessionize(rows: Iterable[Rating], gap_seconds: float) -> Iterator[RatingEvent]:
    """Cut each user's ratings into sessions and map them to PutEvents fields.

    Consecutive rows of one user (MovieLens files are ordered by user) form that user's group. A
    group is sorted by timestamp (stable: ties keep file order) and cut where the time since the
    previous rating *exceeds* ``gap_seconds``. Session ids are ``ml-<userId>-<n>``, n counting the
    user's sessions from 1. A user whose rows are not consecutive gets one group per run of rows,
    numbered on from the previous run, so session ids stay unique. Memory: one user's group.

    Args:
        rows: ratings, grouped by user (as :func:`iter_movielens` yields them).
        gap_seconds: the largest gap, in seconds, between two ratings of one session (>= 0).

    Yields:
        :class:`RatingEvent` records: user by user, each user's in time order.

    Raises:
        ValueError: ``gap_seconds`` is negative or not finite.
    """
    if not (isinstance(gap_seconds, (int, float)) and math.isfinite(gap_seconds)):
        raise ValueError(f"gap_seconds must be a finite number, got {gap_seconds!r}")
    if gap_seconds < 0:
        raise ValueError(f"gap_seconds must be >= 0, got {gap_seconds!r}")
    sessions_of: dict[str, int] = {}
    for user_id, group in itertools.groupby(rows, key=lambda row: row.user_id):
        ordered = sorted(group, key=lambda row: row.timestamp)
        number = sessions_of.get(user_id, 0)
        previous: int | None = None
        session_id = ""
        for row in ordered:
            if previous is None or row.timestamp - previous > gap_seconds:
                number += 1
                session_id = f"ml-{user_id}-{number}"
            previous = row.timestamp
            yield RatingEvent(user_id, session_id, row.item_id, row.rating, row.timestamp)
        sessions_of[user_id] = number


def calls_floor(events_per_session: Iterable[int]) -> int:
    """Return the fewest PutEvents calls that can carry these sessions: Σ ceil(events / 10).

    A PutEvents call carries one (user, session) and at most 10 events.

    Args:
        events_per_session: the number of events of each (user, session).

    Returns:
        The lower bound on calls (int).
    """
    return sum(-(-count // 10) for count in events_per_session)


# --------------------------------------------------------------------------------------------
# the check of what the endpoint received


@attrs.frozen
class DeliveryCheck:
    """How the events an endpoint received compare with the events tracked.

    Attributes:
        expected: events tracked (each with its own event id).
        received: events the endpoint accepted, repeats included.
        missing: tracked event ids the endpoint never accepted.
        duplicated: extra copies received of an event id (received n times counts n - 1).
        unexpected: received events whose id was not tracked (or had none).
        mismatched: received events whose id was tracked but whose fields differ (tracking id,
            event type, user id, session id, item id, event value, or sent_at to the
            millisecond).
        calls: PutEvents calls the endpoint received.
        rejected_calls: of those, calls answered with an error.
        samples: a few descriptions of problems, for the summary.
    """

    expected: int
    received: int
    missing: int
    duplicated: int
    unexpected: int
    mismatched: int
    calls: int
    rejected_calls: int
    samples: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True when the endpoint accepted exactly the tracked events, once each, unchanged."""
        return (
            self.received == self.expected
            and not self.missing
            and not self.duplicated
            and not self.unexpected
            and not self.mismatched
        )


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def _differences(tracking_id: str, sent: Event, got: RecordedEvent) -> list[str]:
    pairs: list[tuple[str, object, object]] = [
        ("tracking_id", tracking_id, got.tracking_id),
        ("event_type", sent.event_type, got.event_type),
        ("user_id", sent.user_id, got.user_id),
        ("session_id", sent.session_id, got.session_id),
        ("item_id", sent.item_id, got.item_id),
        ("event_value", sent.event_value, got.event_value),
        ("sent_at (ms)", _millis(sent.sent_at), _millis(got.sent_at)),
    ]
    return [f"{name} {a!r} != {b!r}" for name, a, b in pairs if a != b]


def check_delivery(
    tracking_id: str,
    expected: Mapping[str, Event],
    received: Sequence[RecordedEvent],
    requests: Sequence[RecordedRequest] = (),
) -> DeliveryCheck:
    """Compare the events tracked with the events an endpoint accepted.

    The two must hold the same multiset of event ids (each id once), and every received event
    must carry the fields it was tracked with.

    Args:
        tracking_id: the tracking id the events were sent with.
        expected: the tracked events by event id.
        received: the events the endpoint accepted (``handle.events``).
        requests: the calls the endpoint received (``handle.requests``), to count PutEvents calls
            and rejected ones.

    Returns:
        The :class:`DeliveryCheck`.
    """
    seen = Counter(event.event_id for event in received)
    samples: list[str] = []

    def note(text: str) -> None:
        if len(samples) < 3 * _MAX_SAMPLES:
            samples.append(text)

    missing = [event_id for event_id in expected if event_id not in seen]
    for event_id in missing[:_MAX_SAMPLES]:
        note(f"missing: event {event_id}")
    duplicated = 0
    for received_id, times in seen.items():
        if times > 1:
            duplicated += times - 1
            note(f"duplicated: event {received_id} received {times} times")
    unexpected = mismatched = 0
    for got in received:
        sent = None if got.event_id is None else expected.get(got.event_id)
        if sent is None:
            unexpected += 1
            note(f"unexpected: event {got.event_id} (session {got.session_id}) was not tracked")
            continue
        differences = _differences(tracking_id, sent, got)
        if differences:
            mismatched += 1
            note(f"mismatch: event {got.event_id}: {'; '.join(differences)}")
    put_events = [request for request in requests if request.operation == "PutEvents"]
    return DeliveryCheck(
        expected=len(expected),
        received=len(received),
        missing=len(missing),
        duplicated=duplicated,
        unexpected=unexpected,
        mismatched=mismatched,
        calls=len(put_events),
        rejected_calls=sum(1 for request in put_events if request.status != 200),
        samples=tuple(samples),
    )


# --------------------------------------------------------------------------------------------
# the run


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
        return found

    @property
    def passed(self) -> bool:
        """True when every event read was tracked and delivered, and the check (if any) passed."""
        return not self.problems


class _FailureLog:
    """The demo's ``on_failure`` handler: keeps the first few failures (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.samples: list[FailedEvent] = []

    def __call__(self, failed: Sequence[FailedEvent]) -> None:
        with self._lock:
            room = _MAX_SAMPLES - len(self.samples)
            if room > 0:
                self.samples.extend(failed[:room])


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
) -> DemoResult:
    """Replay MovieLens ratings through a Tracker and account for every event.

    Without ``endpoint_url`` a local PutEvents endpoint is started on 127.0.0.1 (needs the
    ``testing`` extra) and the events it received are compared with those tracked. With one, the
    Tracker sends there with the default AWS credential chain, and no comparison is made.

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
    from tqdm import tqdm

    stream = sys.stderr if log is None else log
    if endpoint_url is not None and not tracking_id:
        raise ValueError("a tracking id is required when an endpoint URL is given")
    if session_gap_minutes < 0 or not math.isfinite(session_gap_minutes):
        raise ValueError(f"session gap must be >= 0 minutes, got {session_gap_minutes!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit!r}")
    path = resolve_data_path(data)
    total = count_rows(path, limit)
    tracking_id = tracking_id or DEFAULT_LOCAL_TRACKING_ID

    def replay(url: str | None, session: Any) -> tuple[DemoResult, dict[str, Event]]:
        failures = _FailureLog()
        tracker = Tracker(
            tracking_id,
            session=session,
            region_name=region,
            endpoint_url=url,
            on_failure=failures,
        )
        keep = endpoint_url is None  # only the local check needs the tracked events
        tracked: dict[str, Event] = {}
        per_session: Counter[tuple[str, str]] = Counter()
        users: set[str] = set()
        read = 0
        # The replay produces events far faster than PutEvents takes them (microseconds per
        # track() against milliseconds per call), and the Tracker drops what does not fit in
        # max_queue_size (10,000 by default). Rather than raise max_queue_size to the size of
        # the file (memory growing with the data, the queue always full), the replay paces
        # itself as a careful backfill would: when 90% of the queue is pending it pauses until
        # the senders have brought it down to 80%. A pause lasts a fraction of flush_interval,
        # so the session being replayed is not sent in partial batches meanwhile.
        high = int(tracker.max_queue_size * _PACE_HIGH)
        low = int(tracker.max_queue_size * _PACE_LOW)
        bar = tqdm(
            total=total,
            unit="event",
            desc="delivered",
            file=sys.stderr,
            disable=None if progress else True,
            dynamic_ncols=True,
            mininterval=0.25,
        )

        def show(stats: TrackerStats) -> None:
            bar.update(stats.delivered + stats.failed + stats.dropped - bar.n)
            bar.set_postfix_str(f"tracked {stats.tracked:,}", refresh=False)

        events = sessionize(iter_movielens(path, limit), session_gap_minutes * 60.0)
        start = time.perf_counter()
        try:
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
                read += 1
                users.add(event.user_id)
                per_session[event.user_id, event.session_id] += 1
                if keep:
                    tracked[sent.event_id] = sent
                since_check += 1
                if since_check >= _PACE_CHECK_EVERY:
                    since_check = 0
                    stats = tracker.stats()
                    if stats.pending >= high:
                        while stats.pending > low:
                            time.sleep(_PACE_POLL)
                            stats = tracker.stats()
                    show(stats)
            # Every session is complete now: send the partial batches at once rather than after
            # flush_interval, and keep the bar moving while the rest is delivered.
            while not tracker.flush(timeout=_PROGRESS_INTERVAL):
                show(tracker.stats())
            show(tracker.stats())
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
            data_path=path,
            endpoint_url=url,
            local=endpoint_url is None,
            tracking_id=tracking_id,
            region=region,
            events_read=read,
            users=len(users),
            sessions=len(per_session),
            calls_floor=calls_floor(per_session.values()),
            stats=tracker.stats(),
            wall_seconds=wall,
            failures=tuple(failures.samples),
        )
        return result, tracked

    if endpoint_url is not None:
        print(f"Replaying {path} to {endpoint_url} (tracking id {tracking_id})", file=stream)
        result, _ = replay(endpoint_url, None)
        return result

    import boto3

    from .testing import serve_personalize_events

    with serve_personalize_events(host="127.0.0.1", port=0) as handle:
        print(f"Local PutEvents endpoint at {handle.endpoint_url}", file=stream)
        print(f"Replaying {path}", file=stream)
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        result, tracked = replay(handle.endpoint_url, session)
        # Every delivered call was answered, so its events are recorded; the wait is a guard.
        handle.wait_for_events(result.stats.delivered, timeout=5.0)
        check = check_delivery(tracking_id, tracked, handle.events, handle.requests)
    return attrs.evolve(result, check=check)


# --------------------------------------------------------------------------------------------
# the summary


def summary_dict(result: DemoResult) -> dict[str, Any]:
    """Return the summary of a run as JSON-ready data (the ``--json`` output).

    Args:
        result: the run.

    Returns:
        A dict of plain values; times in seconds, rates in events per second.
    """
    stats = result.stats
    check = result.check
    return {
        "result": "PASS" if result.passed else "FAIL",
        "problems": result.problems,
        "data": str(result.data_path),
        "endpoint_url": result.endpoint_url,
        "local_endpoint": result.local,
        "tracking_id": result.tracking_id,
        "region": result.region,
        "events_read": result.events_read,
        "users": result.users,
        "sessions": result.sessions,
        "tracked": stats.tracked,
        "delivered": stats.delivered,
        "failed": stats.failed,
        "failed_by_reason": dict(stats.failed_by_reason),
        "dropped": stats.dropped,
        "pending": stats.pending,
        "put_events_calls": stats.requests,
        "retried_calls": stats.retried,
        "events_per_call": round(result.events_per_call, 3),
        "calls_floor": result.calls_floor,
        "wall_seconds": round(result.wall_seconds, 3),
        "events_per_second": round(result.events_per_second, 1),
        "failures": [
            {
                "event_id": f.event.event_id,
                "reason": f.reason.value,
                "error_code": f.error_code,
                "message": f.message,
            }
            for f in result.failures
        ],
        "endpoint_check": None
        if check is None
        else {
            "result": "PASS" if check.passed else "FAIL",
            "expected": check.expected,
            "received": check.received,
            "missing": check.missing,
            "duplicated": check.duplicated,
            "unexpected": check.unexpected,
            "mismatched": check.mismatched,
            "put_events_calls": check.calls,
            "rejected_calls": check.rejected_calls,
            "samples": list(check.samples),
        },
    }


def summary_text(result: DemoResult) -> str:
    """Return the human-readable summary of a run, ending with a PASS or FAIL line.

    Args:
        result: the run.

    Returns:
        Several lines of text, without a final newline.
    """
    stats = result.stats
    reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(stats.failed_by_reason.items()))
    rows: list[tuple[str, str]] = [
        ("data", str(result.data_path)),
        ("endpoint", f"{result.endpoint_url} ({'local' if result.local else 'given'})"),
        (
            "events read",
            f"{result.events_read:,} ({result.users:,} users, {result.sessions:,} sessions)",
        ),
        ("tracked", f"{stats.tracked:,}"),
        ("delivered", f"{stats.delivered:,}"),
        ("failed", f"{stats.failed:,}" + (f" ({reasons})" if reasons else "")),
        ("dropped", f"{stats.dropped:,}"),
        ("pending", f"{stats.pending:,}"),
        (
            "PutEvents calls",
            f"{stats.requests:,} ({stats.retried:,} retried), "
            f"{result.events_per_call:.2f} events per call",
        ),
        ("floor of calls", f"{result.calls_floor:,} (sum over sessions of ceil(events / 10))"),
        ("wall time", f"{result.wall_seconds:.2f} s (first track() to close())"),
        ("throughput", f"{result.events_per_second:,.0f} events/s delivered"),
    ]
    check = result.check
    if check is None:
        rows.append(("endpoint check", "skipped: another endpoint was given, its records unseen"))
    else:
        verdict = "PASS" if check.passed else "FAIL"
        rows.append(
            (
                "endpoint check",
                f"{verdict}: received {check.received:,} events for {check.expected:,} tracked; "
                f"missing {check.missing:,}, duplicated {check.duplicated:,}, unexpected "
                f"{check.unexpected:,}, mismatched fields {check.mismatched:,}",
            )
        )
        rows.append(
            ("endpoint calls", f"{check.calls:,} PutEvents ({check.rejected_calls:,} rejected)")
        )
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label.ljust(width)}  {value}" for label, value in rows]
    if check is not None:
        lines.extend(f"    {sample}" for sample in check.samples)
    for failure in result.failures:
        lines.append(
            f"    failure: event {failure.event.event_id}: {failure.reason.value} "
            f"({failure.error_code}: {failure.message})"
        )
    if result.passed:
        lines.append(f"PASS: all {result.events_read:,} events delivered exactly once")
    else:
        lines.append("FAIL: " + "; ".join(result.problems))
    return "\n".join(["personalize-tracker demo: MovieLens ratings through PutEvents", *lines])
