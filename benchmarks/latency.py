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
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from ._clients import LIBRARIES, inputs, make_library
from ._common import (
    ServerProcess,
    cpu_split,
    median,
    percentile,
    pin,
    report,
    run_worker,
    spread,
)

BUSY_US = 200.0
# A block "falls behind" when its p99 exceeds the p99 of the no-tracking blocks (pooled) by more
# than this (us): the requests queued behind the library's work (issue 18's figure: none).
BEHIND_US = 10_000.0
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


def _other_threads() -> tuple[float, int, int] | None:
    """CPU seconds, context switches (wake-ups: each sleep that ends, each preemption) and the
    number of this process's threads other than the calling one, from ``/proc/self/task``
    (Linux); None elsewhere. The library's threads are the only others in a worker."""
    me = threading.get_native_id()
    cpu, switches, count = 0, 0, 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tasks:
        if int(tid) == me:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/self/task/{tid}/status") as f:
                status = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        cpu += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        for line in status.splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                switches += int(line.split()[1])
        count += 1
    return cpu / _TICKS, switches, count


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _block(
    handle: Callable[[int], Any], rate: float, n: int, offset: int, stats: Callable[[], Any] | None
) -> tuple[list[float], dict[str, Any]]:
    """One block of :func:`_open_loop`, with what the library's threads did meanwhile: their CPU
    (ms), their wake-ups, how many there were, the caller thread's CPU (ms), and for the Tracker
    the calls it made and the senders allowed at the end."""
    before = _other_threads()
    cpu0 = time.thread_time()
    calls0 = stats().requests if stats else 0
    lat = _open_loop(handle, rate, n, offset)
    caller_cpu = time.thread_time() - cpu0
    after = _other_threads()
    info: dict[str, Any] = {
        "p50_us": percentile(lat, 50),
        "p99_us": percentile(lat, 99),
        "caller_cpu_ms": caller_cpu * 1e3,
    }
    if before is not None and after is not None:
        info["threads_cpu_ms"] = (after[0] - before[0]) * 1e3
        info["threads_wakeups"] = after[1] - before[1]
        info["threads"] = after[2]
    if stats is not None:
        now = stats()
        info["calls"] = now.requests - calls0
        info["senders"] = now.senders
    return lat, info


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
    stats = getattr(lib.obj, "stats", None) if params["library"].startswith("tracker") else None
    offset = 10_000
    runs: dict[str, Any] = {}
    for rate in params["rates"]:
        n = int(rate * BLOCK_SECONDS)
        pooled: dict[str, list[float]] = {"none": [], "lib": []}
        add_p50: list[float] = []
        add_p99: list[float] = []
        per_block: dict[str, list[dict[str, Any]]] = {"none": [], "lib": []}
        for block in range(blocks):
            order = [("none", without), ("lib", with_tracking)]
            if block % 2:
                order.reverse()
            got: dict[str, list[float]] = {}
            for label, handler in order:
                got[label], info = _block(handler, rate, n, offset, stats)
                per_block[label].append(info)
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
        x["blocks"] = per_block
        x["behind"] = [
            {"block": i, "over_none_p99_us": b["p99_us"] - x["none_p99_us"], **b}
            for i, b in enumerate(per_block["lib"])
            if b["p99_us"] - x["none_p99_us"] > BEHIND_US
        ]
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
                    f"p99 {r['add_p99_us']:.1f} us (none p50 {r['none_p50_us']:.0f} us); "
                    f"{len(r['behind'])} of {len(r['blocks']['lib'])} blocks behind; "
                    f"{_threads_line(r['blocks']['lib'])}",
                    flush=True,
                )
                for b in r["behind"]:
                    print(f"    behind: {_block_line(b)}", flush=True)
    return results


def _threads_line(blocks: list[dict[str, Any]]) -> str:
    """The library's threads per block, as medians: CPU, wake-ups, count (and calls)."""
    if not blocks or "threads_cpu_ms" not in blocks[0]:
        return "threads not measured"
    line = (
        f"its threads per block (median): {median([b['threads_cpu_ms'] for b in blocks]):.0f} ms "
        f"CPU, {median([b['threads_wakeups'] for b in blocks]):.0f} wake-ups, "
        f"{median([b['threads'] for b in blocks]):.0f} threads"
    )
    if "calls" in blocks[0]:
        line += f", {median([b['calls'] for b in blocks]):.0f} calls"
    return line


def _block_line(b: dict[str, Any]) -> str:
    parts = [
        f"block {b['block']}: p99 +{b['over_none_p99_us'] / 1e3:.1f} ms over none",
        f"caller CPU {b['caller_cpu_ms']:.0f} ms",
    ]
    if "threads_cpu_ms" in b:
        parts.append(
            f"threads CPU {b['threads_cpu_ms']:.0f} ms, {b['threads_wakeups']} wake-ups, "
            f"{b['threads']} threads"
        )
    if "calls" in b:
        parts.append(f"{b['calls']} calls, senders {b['senders']}")
    return "; ".join(parts)
