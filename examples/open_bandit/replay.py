"""Replay the Open Bandit sample through sessions, context and a schema check.

Each row of ``datasets/open-bandit-sample/random_all.csv`` is one item shown to a visitor at one
of three positions of a recommendation slot, with whether it was clicked. The replay turns a
clicked row into a ``click`` event and the others into ``view`` events, tracked through a
:class:`~personalize_tracker.TrackingSession` per visit:

* the four hashed user features are the session's context (``USER_FEATURE_0`` ... ``_3``, sent as
  ``userFeature0`` ... ``userFeature3``), the position is the event's own property
  (``POSITION`` -> ``position``);
* rows carry no user id, so visits are anonymous sessions: a visitor is the combination of the four
  features, and a visitor's rows are cut into sessions at 30-minute gaps;
* every event is checked against ``interactions_schema.json`` (written for this data set) before
  it is queued.

Run it (from the repository root)::

    python examples/open_bandit/replay.py                 # local endpoint on 127.0.0.1
    python examples/open_bandit/replay.py --limit 1000
    python examples/open_bandit/replay.py --endpoint-url http://127.0.0.1:5000

By default it starts the testing extension's local endpoint (``personalize-tracker[testing]``),
replays the rows, and checks that the endpoint received each event exactly once. The data set is
CC BY 4.0 (ZOZO, Inc.; see ``datasets/open-bandit-sample/README.md``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import boto3

from personalize_tracker import InteractionsSchema, Tracker, TrackingSession

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "datasets" / "open-bandit-sample" / "random_all.csv"
SCHEMA = HERE / "interactions_schema.json"
#: Seconds of inactivity that end a visit (the usual convention).
SESSION_GAP = 30 * 60.0
USER_FEATURES = ("user_feature_0", "user_feature_1", "user_feature_2", "user_feature_3")


@attrs.frozen
class Row:
    """One logged impression: ``item_id`` shown at ``position`` (1-3), clicked or not."""

    timestamp: float  #: epoch seconds (UTC)
    item_id: str
    position: int
    click: bool
    user_features: tuple[str, str, str, str]


@attrs.frozen
class ReplayResult:
    """What the replay tracked."""

    rows: int
    clicks: int
    views: int
    sessions: int
    event_ids: tuple[str, ...]


def load_rows(path: Path = DATA, limit: int | None = None) -> list[Row]:
    """Read ``random_all.csv`` (in file order, which is time order), at most ``limit`` rows."""
    rows: list[Row] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            if limit is not None and len(rows) >= limit:
                break
            features = tuple(record[name] for name in USER_FEATURES)
            rows.append(
                Row(
                    timestamp=dt.datetime.fromisoformat(record["timestamp"]).timestamp(),
                    item_id=record["item_id"],
                    position=int(record["position"]),
                    click=record["click"] == "1",
                    user_features=(features[0], features[1], features[2], features[3]),
                )
            )
    return rows


def load_schema(path: Path = SCHEMA) -> InteractionsSchema:
    """The Interactions schema written for this data set."""
    return InteractionsSchema.from_json(path.read_text(encoding="utf-8"))


def _visitor_key(features: Sequence[str]) -> str:
    return hashlib.blake2b("|".join(features).encode(), digest_size=6).hexdigest()


def replay(tracker: Tracker, rows: Sequence[Row]) -> ReplayResult:
    """Track every row through per-visit sessions (see the module docstring).

    Raises:
        InvalidEventError: a row does not fit the Tracker's schema.
    """
    open_visits: dict[str, tuple[TrackingSession, float]] = {}
    visit_counts: dict[str, int] = {}
    event_ids: list[str] = []
    clicks = 0
    for row in rows:
        visitor = _visitor_key(row.user_features)
        current = open_visits.get(visitor)
        if current is None or row.timestamp - current[1] > SESSION_GAP:
            number = visit_counts.get(visitor, 0) + 1
            visit_counts[visitor] = number
            session = tracker.session(
                session_id=f"obd-{visitor}-{number}",
                context={f"USER_FEATURE_{n}": value for n, value in enumerate(row.user_features)},
            )
        else:
            session = current[0]
        open_visits[visitor] = (session, row.timestamp)
        event = session.track(
            "click" if row.click else "view",
            row.item_id,
            properties={"POSITION": row.position},
            sent_at=row.timestamp,
        )
        clicks += row.click
        event_ids.append(event.event_id)
    return ReplayResult(
        rows=len(rows),
        clicks=clicks,
        views=len(rows) - clicks,
        sessions=sum(visit_counts.values()),
        event_ids=tuple(event_ids),
    )


def _session() -> boto3.Session:
    # Dummy credentials: the local endpoint checks none.
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def _run(endpoint_url: str, tracking_id: str, rows: list[Row]) -> tuple[ReplayResult, Any]:
    started = time.perf_counter()
    with Tracker(
        tracking_id,
        session=_session(),
        endpoint_url=endpoint_url,
        schema=load_schema(),
        flush_interval=0.2,
    ) as tracker:
        result = replay(tracker, rows)
        tracker.flush(timeout=120)
        stats = tracker.stats()
    print(
        f"replayed {result.rows} rows in {time.perf_counter() - started:.1f} s: "
        f"{result.clicks} click / {result.views} view events in {result.sessions} sessions; "
        f"delivered {stats.delivered}, failed {stats.failed}, PutEvents calls {stats.requests}"
    )
    return result, stats


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, default=None, help="replay the first N rows only")
    parser.add_argument(
        "--endpoint-url", default=None, help="a PutEvents endpoint (default: start a local one)"
    )
    parser.add_argument("--tracking-id", default="open-bandit-replay")
    args = parser.parse_args(argv)
    rows = load_rows(limit=args.limit)
    if args.endpoint_url is not None:
        _, stats = _run(args.endpoint_url, args.tracking_id, rows)
        return 0 if stats.failed == 0 and stats.dropped == 0 else 1

    from personalize_tracker.testing import serve_personalize_events

    with serve_personalize_events() as endpoint:
        assert endpoint.endpoint_url is not None
        result, stats = _run(endpoint.endpoint_url, args.tracking_id, rows)
        received = [e.event_id or "" for e in endpoint.events]
    exact = sorted(received) == sorted(result.event_ids)
    print(f"endpoint received each tracked event exactly once: {'yes' if exact else 'NO'}")
    return 0 if exact and stats.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
