"""Section 1: what one call costs the caller (ns), with sending on, against the loopback server.

Each library runs in its own fresh process. The calls are timed one by one with
``perf_counter_ns`` in rounds of ``per_round`` calls (fewer than any library's default queue of
10,000, so nothing is dropped); between rounds the library is flushed, untimed. The median cost of
an empty call through the same harness (timer and lambda) is subtracted from every sample.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ._clients import LIBRARIES, has_tracking_session, inputs, make_library
from ._common import ServerProcess, cpu_split, median, percentile, pin, report, run_worker, spread

ROWS = [
    "floor",
    "tracker",
    "tracker+3props",
    "tracking_session",
    "segment",
    "posthog",
    "naive_put_events",
]


def _time_calls(call: Callable[[int], Any], n: int) -> list[int]:
    pc = time.perf_counter_ns
    out = [0] * n
    for i in range(n):
        t0 = pc()
        call(i)
        out[i] = pc() - t0
    return out


def _overhead_ns() -> float:
    def empty(i: int) -> None:
        return None

    return median([median(_time_calls(empty, 20_000)) for _ in range(5)])


def worker(params: dict[str, Any]) -> None:
    pin(0, params.get("cpu"))  # see _common.cpu_split
    name: str = params["library"]
    rounds: int = params["rounds"]
    per_round: int = params["per_round"]
    overhead = _overhead_ns()
    if name == "tracking_session" and not has_tracking_session():
        report({"skipped": "Tracker.session does not exist yet"})
    flush: Callable[[], Any]
    if name == "floor":
        queue: deque[tuple[str, str, str, str]] = deque()
        append = queue.append

        def factory(users: list[str], sessions: list[str], items: list[str]) -> Any:
            return lambda i: append(("click", sessions[i], users[i], items[i]))

        flush = queue.clear
    else:
        lib = make_library(name, params["url"])
        factory = lib.caller
        flush = lib.flush
    # Warm-up: first calls start threads, open connections, fill caches.
    warm = min(1_000, per_round)
    users, sessions, items = inputs(warm, start=10_000_000)
    _time_calls(factory(users, sessions, items), warm)
    flush()
    samples: list[float] = []
    round_medians: list[float] = []
    round_p99s: list[float] = []
    for r in range(rounds):
        users, sessions, items = inputs(per_round, start=r * per_round)
        call = factory(users, sessions, items)
        gc.collect()
        got = [t - overhead for t in _time_calls(call, per_round)]
        flush()
        samples.extend(got)
        round_medians.append(median(got))
        round_p99s.append(percentile(got, 99))
    report(
        {
            "calls": len(samples),
            "median_ns": median(samples),
            "p99_ns": percentile(samples, 99),
            "mean_ns": sum(samples) / len(samples),
            "round_median_spread_ns": spread(round_medians),
            "round_p99_spread_ns": spread(round_p99s),
            "overhead_subtracted_ns": overhead,
        }
    )


def run(quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    split = cpu_split()
    client_cpu, server_cpu = split if split else (None, None)
    with ServerProcess(cpu=server_cpu) as server:
        for name in ROWS:
            if name == "naive_put_events":
                rounds, per_round = (2, 200) if quick else (5, 500)
            else:
                rounds, per_round = (4, 2_000) if quick else (20, 5_000)
            server.reset()
            res = run_worker(
                "caller_cost",
                {
                    "library": name,
                    "url": server.url,
                    "rounds": rounds,
                    "per_round": per_round,
                    "cpu": client_cpu,
                },
            )
            res["label"] = "deque.append of a tuple (floor)" if name == "floor" else LIBRARIES[name]
            res["server"] = server.stats()
            res["pinned"] = split is not None
            results[name] = res
            print(f"  caller cost {name}: {_fmt(res)}", flush=True)
    return results


def _fmt(res: dict[str, Any]) -> str:
    if "skipped" in res:
        return f"skipped ({res['skipped']})"
    return f"median {res['median_ns']:.0f} ns, p99 {res['p99_ns']:.0f} ns"
