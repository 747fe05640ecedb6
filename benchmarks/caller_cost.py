"""Section 1: what one call costs the caller (ns), with sending on, against the loopback server.

Each library runs in its own fresh process. The calls are timed one by one with
``perf_counter_ns`` in rounds of ``per_round`` calls (fewer than any library's default queue of
10,000, so nothing is dropped); between rounds the library is flushed, untimed. The median cost of
an empty call through the same harness (timer and lambda) is subtracted from every sample.

The libraries' rounds are interleaved: every process is started and warmed up first, then round
``r`` of each library runs in turn (the order rotating from round to round), one process at a
time. The machine has slow spells (on the reference VM, everything, the floor included, runs up
to ~1.9x slower for seconds at a time); run one library after the other, a spell would fall on
whichever library was measured then, and the ratios between libraries would move with it.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ._clients import LIBRARIES, has_tracking_session, inputs, make_library
from ._common import (
    RESULT_PREFIX,
    ROOT,
    ServerProcess,
    child_env,
    cpu_split,
    median,
    percentile,
    pin,
    report,
    run_worker,
    spread,
)

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

    def one_round(r: int) -> None:
        users, sessions, items = inputs(per_round, start=r * per_round)
        call = factory(users, sessions, items)
        gc.collect()
        got = [t - overhead for t in _time_calls(call, per_round)]
        flush()
        samples.extend(got)
        round_medians.append(median(got))
        round_p99s.append(percentile(got, 99))

    if params.get("stepped"):
        # Rounds on request (see run): "ROUND r" runs one and answers "DONE"; "END" reports.
        print("READY", flush=True)
        for line in sys.stdin:
            command = line.split()
            if command[0] == "END":
                break
            one_round(int(command[1]))
            print("DONE", flush=True)
    else:
        for r in range(rounds):
            one_round(r)
    report(
        {
            "calls": len(samples),
            "median_ns": median(samples),
            "p99_ns": percentile(samples, 99),
            "mean_ns": sum(samples) / len(samples),
            "round_median_spread_ns": spread(round_medians),
            "round_medians_ns": round_medians,
            "round_p99_spread_ns": spread(round_p99s),
            "overhead_subtracted_ns": overhead,
        }
    )


class _SteppedWorker:
    """A ``caller_cost`` worker process that runs its rounds when told to (see :func:`run`)."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.run",
                "--worker",
                "caller_cost",
                "--params",
                json.dumps({**params, "stepped": True}),
            ],
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _expect(self, word: str) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == word:
                return
        raise RuntimeError(f"caller_cost worker ended before {word} (exit {self.proc.wait()})")

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def ready(self) -> None:
        self._expect("READY")

    def round(self, r: int) -> None:
        self._send(f"ROUND {r}")
        self._expect("DONE")

    def result(self) -> dict[str, Any]:
        self._send("END")
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(RESULT_PREFIX):
                result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
                self.proc.wait()
                return result
        raise RuntimeError(f"caller_cost worker reported nothing (exit {self.proc.wait()})")


def run(quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    split = cpu_split()
    client_cpu, server_cpu = split if split else (None, None)
    with ServerProcess(cpu=server_cpu) as server:
        # Every library but the naive loop: rounds interleaved (see the module's docstring).
        rounds, per_round = (4, 2_000) if quick else (20, 5_000)
        names = [name for name in ROWS if name != "naive_put_events"]
        workers: dict[str, _SteppedWorker] = {}
        try:
            for name in names:
                workers[name] = _SteppedWorker(
                    {
                        "library": name,
                        "url": server.url,
                        "rounds": rounds,
                        "per_round": per_round,
                        "cpu": client_cpu,
                    }
                )
                workers[name].ready()  # started and warmed up one at a time
            for r in range(rounds):
                for k in range(len(names)):
                    workers[names[(r + k) % len(names)]].round(r)
            for name in names:
                results[name] = workers[name].result()
        finally:
            for worker in workers.values():
                if worker.proc.poll() is None:
                    worker.proc.kill()
                    worker.proc.wait()
        served = server.stats()
        # The naive loop alone (0.7 ms per event: a few rounds of its own).
        server.reset()
        results["naive_put_events"] = run_worker(
            "caller_cost",
            {
                "library": "naive_put_events",
                "url": server.url,
                "rounds": 2 if quick else 5,
                "per_round": 200 if quick else 500,
                "cpu": client_cpu,
            },
        )
        results["naive_put_events"]["server"] = server.stats()
    seg, ours = results["segment"], results["tracker"]
    if "round_medians_ns" in seg and "round_medians_ns" in ours:
        # Round r of both ran within seconds of each other: the spread of their ratio.
        pairs = zip(seg["round_medians_ns"], ours["round_medians_ns"], strict=True)
        by_round = [a / b for a, b in pairs]
        seg["ratio_to_tracker_by_round"] = {"median": median(by_round), "spread": spread(by_round)}
    for name in ROWS:
        res = results[name]
        res["label"] = "deque.append of a tuple (floor)" if name == "floor" else LIBRARIES[name]
        res.setdefault("server", served)  # the interleaved libraries share one server's count
        res["pinned"] = split is not None
        res["interleaved"] = name != "naive_put_events"
        print(f"  caller cost {name}: {_fmt(res)}", flush=True)
    return results


def _fmt(res: dict[str, Any]) -> str:
    if "skipped" in res:
        return f"skipped ({res['skipped']})"
    return f"median {res['median_ns']:.0f} ns, p99 {res['p99_ns']:.0f} ns"
