"""Section 2: latency a library adds to a web request, under an open-loop load.

One thread plays a web worker. Requests arrive at a constant rate (500 or 2,000 per second),
scheduled in advance: the latency of a request is the time from its scheduled arrival to the end
of its handling, so a slow request delays the ones queued behind it (no coordinated omission).
The worker sleeps until ~150 us before an arrival, then spins to it (sleep alone wakes up late by
a noisy 50-150 us here). Each request does ~200 us of pure-Python busy work (a fixed amount of
work, calibrated once, not a clock spin, so a background thread holding the GIL shows) and tracks
one event. Blocks of half a second without tracking ("none") and with the library alternate in one
process, so the machine's drift hits both alike; the percentiles are of the pooled requests of
each kind, and the added latency is their difference. The library is flushed after every block
(untimed) so that no backlog spills into the next. The spread is that of the per-block-pair
differences.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from ._clients import LIBRARIES, inputs, make_library
from ._common import ServerProcess, cpu_split, percentile, pin, report, run_worker, spread

BUSY_US = 200.0
# Seconds of one block. The machine's speed drifts from one second to the next: many short
# blocks, alternated, let the drift hit both kinds alike.
BLOCK_SECONDS = 0.5
LIBS = ["tracker", "segment", "posthog", "naive_put_events"]
# naive put_events costs ~0.7 ms per event: at 2,000 requests/s the worker would need 1.8 s of
# work per second. It runs at 500 requests/s only.
RATES = {name: [500, 2_000] for name in LIBS} | {"naive_put_events": [500]}


def _busy(loops: int) -> int:
    acc = 0
    for j in range(loops):
        acc = (acc * 31 + j) & 0xFFFF
    return acc


def _calibrate() -> int:
    loops = 1_000
    while True:
        t0 = time.perf_counter()
        _busy(loops)
        took = time.perf_counter() - t0
        if took > 0.002:
            break
        loops *= 2
    loops = int(loops * BUSY_US * 1e-6 / took)
    runs = []
    for _ in range(200):
        t0 = time.perf_counter()
        _busy(loops)
        runs.append(time.perf_counter() - t0)
    # The 10th percentile: the work's cost when nothing else competes for the core.
    return int(loops * BUSY_US * 1e-6 / percentile(runs, 10))


def _open_loop(handle: Callable[[int], Any], rate: float, n: int, offset: int) -> list[float]:
    """Latencies in us of ``n`` requests arriving at ``rate`` per second."""
    interval = 1.0 / rate
    lat = [0.0] * n
    pc = time.perf_counter
    sleep = time.sleep
    start = pc() + 0.005
    for k in range(n):
        due = start + k * interval
        ahead = due - pc()
        if ahead > 0.0002:
            sleep(ahead - 0.00015)
        while pc() < due:
            pass
        handle(offset + k)
        lat[k] = (pc() - due) * 1e6
    return lat


def worker(params: dict[str, Any]) -> None:
    pin(0, params.get("cpu"))  # see _common.cpu_split
    loops = _calibrate()
    lib = make_library(params["library"], params["url"])
    blocks: int = params["blocks"]
    total = int(sum(params["rates"]) * BLOCK_SECONDS * blocks * 2) + 20_000
    users, sessions, items = inputs(total)
    track = lib.caller(users, sessions, items)

    def with_tracking(i: int) -> None:
        _busy(loops)
        track(i)

    def without(i: int) -> None:
        _busy(loops)

    _open_loop(with_tracking, 500, 500, 0)  # warm-up: threads, connections
    lib.flush()
    offset = 10_000
    runs: dict[str, Any] = {}
    for rate in params["rates"]:
        n = int(rate * BLOCK_SECONDS)
        pooled: dict[str, list[float]] = {"none": [], "lib": []}
        add_p50: list[float] = []
        add_p99: list[float] = []
        for block in range(blocks):
            order = [("none", without), ("lib", with_tracking)]
            if block % 2:
                order.reverse()
            got: dict[str, list[float]] = {}
            for label, handler in order:
                got[label] = _open_loop(handler, rate, n, offset)
                offset += n
                lib.flush()  # no backlog spills into the next block
                gc.collect()
            pooled["none"] += got["none"]
            pooled["lib"] += got["lib"]
            add_p50.append(percentile(got["lib"], 50) - percentile(got["none"], 50))
            add_p99.append(percentile(got["lib"], 99) - percentile(got["none"], 99))
        lib.flush()
        x = {
            "requests_per_kind": len(pooled["lib"]),
            "none_p50_us": percentile(pooled["none"], 50),
            "none_p99_us": percentile(pooled["none"], 99),
            "lib_p50_us": percentile(pooled["lib"], 50),
            "lib_p99_us": percentile(pooled["lib"], 99),
            "lib_max_us": max(pooled["lib"]),
            "none_max_us": max(pooled["none"]),
            "add_p50_spread_us": spread(add_p50),
            "add_p99_spread_us": spread(add_p99),
        }
        x["add_p50_us"] = x["lib_p50_us"] - x["none_p50_us"]
        x["add_p99_us"] = x["lib_p99_us"] - x["none_p99_us"]
        runs[str(rate)] = x
    report({"busy_loops": loops, "rates": runs})


def run(quick: bool) -> dict[str, Any]:
    blocks = 4 if quick else 16
    results: dict[str, Any] = {}
    split = cpu_split()
    client_cpu, server_cpu = split if split else (None, None)
    with ServerProcess(cpu=server_cpu) as server:
        for name in LIBS:
            res = run_worker(
                "latency",
                {
                    "library": name,
                    "url": server.url,
                    "rates": RATES[name],
                    "blocks": blocks,
                    "cpu": client_cpu,
                },
            )
            res["label"] = LIBRARIES[name]
            res["pinned"] = split is not None
            results[name] = res
            for rate, r in res["rates"].items():
                print(
                    f"  latency {name} @{rate}/s: added p50 {r['add_p50_us']:.1f} us, "
                    f"p99 {r['add_p99_us']:.1f} us (none p50 {r['none_p50_us']:.0f} us)",
                    flush=True,
                )
    return results
