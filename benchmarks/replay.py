"""Section 4: PutEvents calls per event on the MovieLens replay, against the floor.

The ratings of ``datasets/movielens-latest-small/ratings.csv`` are cut into sessions per user at
gaps of more than 30 minutes, then tracked in global time order (users interleaved), each with
its own timestamp as ``sent_at``, as fast as the caller can, by a Tracker with default settings
except ``max_queue_size`` raised to the number of events (so nothing is dropped). The floor is
the fewest calls possible: the sum over sessions of ceil(events / 10).
"""

from __future__ import annotations

import csv
import time
from typing import Any

from ._clients import make_tracker
from ._common import DATASET, ServerProcess, report, run_worker

SESSION_GAP = 30 * 60


def load_events(limit: int | None = None) -> tuple[list[tuple[int, str, str, float, float]], int]:
    """Events as (timestamp, user, session, item, rating) in time order, and the floor."""
    by_user: dict[str, list[tuple[int, str, float]]] = {}
    with DATASET.open(newline="") as f:
        for row in csv.DictReader(f):
            by_user.setdefault(row["userId"], []).append(
                (int(row["timestamp"]), row["movieId"], float(row["rating"]))
            )
    events: list[Any] = []
    for user, ratings in by_user.items():
        ratings.sort()
        n_session = 0
        last = None
        for ts, item, rating in ratings:
            if last is not None and ts - last > SESSION_GAP:
                n_session += 1
            last = ts
            events.append((ts, f"u{user}", f"u{user}-s{n_session}", item, rating))
    events.sort(key=lambda e: e[0])
    if limit is not None:
        events = events[:limit]
    sizes: dict[str, int] = {}
    for e in events:
        sizes[e[2]] = sizes.get(e[2], 0) + 1
    floor = sum(-(-size // 10) for size in sizes.values())
    return events, floor


def worker(params: dict[str, Any]) -> None:
    events, floor = load_events(params.get("limit"))
    tracker = make_tracker(params["url"], max_queue_size=len(events))
    track = tracker.track
    t0 = time.perf_counter()
    for ts, user, session, item, rating in events:
        track("rating", session, user, item, event_value=rating, sent_at=ts)
    done = tracker.flush(timeout=600)
    seconds = time.perf_counter() - t0
    stats = tracker.stats()
    report(
        {
            "events": len(events),
            "sessions": len({e[2] for e in events}),
            "users": len({e[1] for e in events}),
            "floor_calls": floor,
            "requests": stats.requests,
            "delivered": stats.delivered,
            "dropped": stats.dropped,
            "failed": stats.failed,
            "flushed": done,
            "calls_per_event": stats.requests / len(events),
            "floor_calls_per_event": floor / len(events),
            "ratio_to_floor": stats.requests / floor,
            "seconds": seconds,
        }
    )


def run(quick: bool) -> dict[str, Any]:
    with ServerProcess() as server:
        res = run_worker("replay", {"url": server.url, "limit": 20_000 if quick else None})
        res["server"] = server.stats()
    print(
        f"  replay: {res['requests']:,} calls for {res['events']:,} events, floor "
        f"{res['floor_calls']:,} (x{res['ratio_to_floor']:.3f})",
        flush=True,
    )
    return res
