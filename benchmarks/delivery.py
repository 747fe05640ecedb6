"""Section 3: delivery throughput (events/s) and process CPU per delivered event.

``N`` events in ``N / 10`` sessions of 10, delivered

- by the Tracker: every event tracked as fast as the caller can (``max_queue_size`` raised to
  ``N`` so that nothing is dropped), then ``flush()``; the clock and the process CPU run from the
  first ``track()`` to the end of the flush, so ``track()`` itself is included;
- by a bare loop of ``put_events`` calls on one thread, with the same batches built beforehand
  (untimed), through a plain boto3 client (boto3's defaults) and through the Tracker's own client
  (``Tracker.client``: botocore retries off, parameter validation off, millisecond ``sentAt``).

Against the server as is, and answering 20 ms late (there a one-thread loop makes 50 calls/s at
most, so it runs fewer batches). A warm-up (10 sessions) precedes each measurement.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from ._clients import inputs, make_boto_client, make_tracker
from ._common import TRACKING_ID, ServerProcess, cpu_ns, median, report, run_worker, spread


def _batches(n: int, start: int) -> list[dict[str, Any]]:
    users, sessions, items = inputs(n, start)
    now = time.time()
    out = []
    for b in range(0, n, 10):
        out.append(
            {
                "trackingId": TRACKING_ID,
                "userId": users[b],
                "sessionId": sessions[b],
                "eventList": [
                    {
                        "eventId": uuid.uuid4().hex,
                        "eventType": "click",
                        "sentAt": now,
                        "itemId": items[i],
                    }
                    for i in range(b, min(b + 10, n))
                ],
            }
        )
    return out


def worker(params: dict[str, Any]) -> None:
    n: int = params["events"]
    url: str = params["url"]
    mode: str = params["mode"]
    if mode == "tracker":
        options = dict(params.get("options", {}))
        options["max_queue_size"] = max(n, options.get("max_queue_size", 10_000))
        tracker = make_tracker(url, **options)
        users, sessions, items = inputs(100, start=50_000_000)
        for i in range(100):
            tracker.track("click", sessions[i], users[i], items[i])
        tracker.flush()
        before = tracker.stats()
        users, sessions, items = inputs(n)
        track = tracker.track
        w0, c0 = time.perf_counter(), cpu_ns()
        for i in range(n):
            track("click", sessions[i], users[i], items[i])
        w_track, c_track = time.perf_counter(), cpu_ns()
        done = tracker.flush(timeout=600)
        w1, c1 = time.perf_counter(), cpu_ns()
        after = tracker.stats()
        senders = after.senders  # the adaptive sender count the run ended with
        delivered = after.delivered - before.delivered
        report(
            {
                "events": n,
                "flushed": done,
                "delivered": delivered,
                "dropped": after.dropped,
                "failed": after.failed,
                "requests": after.requests - before.requests,
                "retried": after.retried - before.retried,
                "seconds": w1 - w0,
                "events_per_s": delivered / (w1 - w0),
                "cpu_us_per_event": (c1 - c0) / 1e3 / max(delivered, 1),
                "track_phase_seconds": w_track - w0,
                "track_phase_cpu_us_per_event": (c_track - c0) / 1e3 / n,
                "options": options,
                "senders": senders,
            }
        )
    else:
        # bare_tracker_client: the client the Tracker builds (Tracker.client), used directly
        client = make_boto_client(url) if mode == "bare_plain" else make_tracker(url).client
        for p in _batches(100, 50_000_000):
            client.put_events(**p)
        batches = _batches(n, 0)
        put_events = client.put_events
        w0, c0 = time.perf_counter(), cpu_ns()
        for p in batches:
            put_events(**p)
        w1, c1 = time.perf_counter(), cpu_ns()
        report(
            {
                "events": n,
                "delivered": n,
                "requests": len(batches),
                "seconds": w1 - w0,
                "events_per_s": n / (w1 - w0),
                "cpu_us_per_event": (c1 - c0) / 1e3 / n,
            }
        )


# The documented knob for more throughput from one process: a higher cap on the adaptive
# number of senders (default 32). At 20 ms the process is CPU-bound before either cap.
TUNED = {"max_workers": 64}


def cases(quick: bool) -> list[tuple[str, float, str, dict[str, Any], int]]:
    """(case id, server delay ms, mode, Tracker options, events)."""
    big, slow_tracker, slow_bare = (20_000, 10_000, 1_000) if quick else (100_000, 30_000, 3_000)
    return [
        ("tracker_default", 0, "tracker", {}, big),
        # without the default request-rate limit (950 calls/s, under the PutEvents quota):
        # what one process can deliver where the quota allows more
        ("tracker_no_rate_limit", 0, "tracker", {"max_requests_per_second": None}, big),
        ("bare_plain", 0, "bare_plain", {}, big),
        ("bare_tracker_client", 0, "bare_tracker_client", {}, big),
        ("rtt20_tracker_default", 20, "tracker", {}, slow_tracker),
        ("rtt20_tracker_tuned", 20, "tracker", TUNED, slow_tracker),
        # at most 8 senders (the former fixed pool): in-flight calls decide throughput here
        ("rtt20_tracker_8_senders", 20, "tracker", {"max_workers": 8}, slow_tracker),
        ("rtt20_bare_plain", 20, "bare_plain", {}, slow_bare),
    ]


def run(quick: bool) -> dict[str, Any]:
    reps = 1 if quick else 2
    results: dict[str, Any] = {}
    all_cases = cases(quick)
    for delay in (0, 20):
        with ServerProcess(delay_ms=delay) as server:
            for rep in range(reps):
                for case, d, mode, options, n in all_cases:
                    if d != delay:
                        continue
                    server.reset()
                    res = run_worker(
                        "delivery",
                        {"mode": mode, "url": server.url, "events": n, "options": options},
                    )
                    res["server"] = server.stats()
                    entry = results.setdefault(
                        case, {"delay_ms": delay, "mode": mode, "options": options, "runs": []}
                    )
                    entry["runs"].append(res)
                    print(
                        f"  delivery {case} (rep {rep + 1}): {res['events_per_s']:,.0f} events/s, "
                        f"{res['cpu_us_per_event']:.1f} us CPU/event",
                        flush=True,
                    )
    for entry in results.values():
        rate = [r["events_per_s"] for r in entry["runs"]]
        cpu = [r["cpu_us_per_event"] for r in entry["runs"]]
        entry.update(
            events=entry["runs"][0]["events"],
            events_per_s=median(rate),
            events_per_s_spread=spread(rate),
            cpu_us_per_event=median(cpu),
            cpu_us_per_event_spread=spread(cpu),
        )
    return results
