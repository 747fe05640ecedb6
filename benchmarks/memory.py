"""Section 5: memory per queued event (tracemalloc), 100,000 events pending, sending paused.

Sending is paused the same way for every library: the loopback server answers 10 minutes late,
so each sender thread takes a first batch and waits on it while everything else stays queued
(in-flight events are still pending and count too). The measure is tracemalloc's traced memory
after tracking minus before, divided by the events; the events' id strings are built while
tracing, as a caller would build them from a request, and the caller keeps no reference to them.
The Tracker also runs with ``flush_interval`` huge and one session per event (no batch ever
full, so nothing is sent), the per-session worst case. The floor keeps the same strings in a
tuple on a deque.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections import deque
from typing import Any

from ._clients import make_posthog, make_segment, make_tracker
from ._common import ServerProcess, report, run_worker

HOLD_MS = 600_000


def worker(params: dict[str, Any]) -> None:
    n: int = params["events"]
    name: str = params["library"]
    url: str = params["url"]
    per_session = 1 if name == "tracker_session_per_event" else 10
    holder: Any
    if name.startswith("tracker"):
        options: dict[str, Any] = {"max_queue_size": n * 2}
        if name == "tracker_session_per_event":
            options["flush_interval"] = 1e6
        holder = make_tracker(url, **options)
        track = holder.track

        def call(i: int) -> None:
            s = i // per_session
            track("click", f"s{s}", f"u{s % 1000}", f"i{i % 5000}")

    elif name == "segment":
        holder = make_segment(url, max_queue_size=n * 2)
        strack = holder.track

        def call(i: int) -> None:
            s = i // 10
            strack(f"u{s % 1000}", "click", {"item_id": f"i{i % 5000}", "session_id": f"s{s}"})

    elif name == "posthog":
        holder = make_posthog(url, max_queue_size=n * 2)
        capture = holder.capture

        def call(i: int) -> None:
            s = i // 10
            capture(
                "click",
                distinct_id=f"u{s % 1000}",
                properties={"item_id": f"i{i % 5000}", "$session_id": f"s{s}"},
            )

    else:  # floor
        holder = deque()
        append = holder.append

        def call(i: int) -> None:
            s = i // 10
            append(("click", f"s{s}", f"u{s % 1000}", f"i{i % 5000}"))

    # Warm-up outside the measure: threads started, first batch in flight, caches filled.
    for i in range(n, n + 50):
        call(i)
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for i in range(n):
        call(i)
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    pending = None
    if name.startswith("tracker"):
        pending = holder.stats().pending
    report(
        {
            "events": n,
            "bytes_per_event": (after - before) / n,
            "peak_bytes_per_event": (peak - before) / n,
            "pending": pending,
        }
    )


LIBS = {
    "floor": "deque.append of a tuple (floor)",
    "tracker": "Tracker (sessions of 10)",
    "tracker_session_per_event": "Tracker (one session per event)",
    "segment": "Segment",
    "posthog": "PostHog",
}


def run(quick: bool) -> dict[str, Any]:
    n = 20_000 if quick else 100_000
    results: dict[str, Any] = {}
    with ServerProcess(delay_ms=HOLD_MS) as server:
        for name, label in LIBS.items():
            res = run_worker("memory", {"library": name, "url": server.url, "events": n})
            res["label"] = label
            res["server"] = server.stats()
            results[name] = res
            print(f"  memory {name}: {res['bytes_per_event']:.0f} bytes/event", flush=True)
    return results
