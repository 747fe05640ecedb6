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
import queue
import subprocess
import sys
import threading
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
    "put_item",
    "segment",
    "segment+3props",
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
        floor: deque[tuple[str, str, str, str]] = deque()
        append = floor.append

        def factory(users: list[str], sessions: list[str], items: list[str]) -> Any:
            return lambda i: append(("click", sessions[i], users[i], items[i]))

        flush = floor.clear
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

    overheads = [overhead]

    def one_round(r: int) -> None:
        users, sessions, items = inputs(per_round, start=r * per_round)
        call = factory(users, sessions, items)
        gc.collect()
        # The harness's own cost, measured next to the round (a slow spell shifts both alike).
        round_overhead = _overhead_ns()
        overheads.append(round_overhead)
        got = [t - round_overhead for t in _time_calls(call, per_round)]
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
            "overhead_subtracted_ns": median(overheads[1:] or overheads),
        }
    )


class _SteppedWorker:
    """A ``caller_cost`` worker process that runs its rounds when told to (see :func:`run`).

    Its output is read by a thread, so that every wait has a deadline: a library whose flush
    hangs fails the section (the worker is killed) instead of hanging the suite.
    """

    def __init__(self, params: dict[str, Any], timeout: float = 600.0) -> None:
        self.timeout = timeout
        self.result: dict[str, Any] | None = None  # the worker's report, once read
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
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # end of output

    def _expect(self, word: str) -> bool:
        """Wait for ``word``; False if the worker reported (and ended) first."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise RuntimeError(
                    f"caller_cost worker: no {word} within {self.timeout} s"
                ) from None
            if line is None:
                raise RuntimeError(
                    f"caller_cost worker ended before {word} (exit {self.proc.wait()})"
                )
            if line.startswith(RESULT_PREFIX):
                self.result = json.loads(line[len(RESULT_PREFIX) :])
                return False
            if line.strip() == word:
                return True

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise RuntimeError(f"caller_cost worker died (exit {self.proc.wait()})") from None

    def ready(self) -> bool:
        """Wait until it is warmed up; False if it reported at once (a skipped library)."""
        return self._expect("READY")

    def round(self, r: int) -> None:
        self._send(f"ROUND {r}")
        if not self._expect("DONE"):
            raise RuntimeError("caller_cost worker reported in the middle of its rounds")

    def finish(self) -> dict[str, Any]:
        if self.result is None:
            self._send("END")
            self._expect(RESULT_PREFIX.strip())  # sets self.result from the report line
        self.proc.wait()
        assert self.result is not None
        return self.result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run(quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    split = cpu_split()
    client_cpu, server_cpu = split if split else (None, None)
    with ServerProcess(cpu=server_cpu) as server:
        # Every library but the naive loop: rounds interleaved (see the module's docstring).
        rounds, per_round = (4, 2_000) if quick else (20, 5_000)
        names = [name for name in ROWS if name != "naive_put_events"]
        workers: dict[str, _SteppedWorker] = {}
        served: dict[str, dict[str, dict[str, int]]] = {}
        try:
            for name in names:
                worker = _SteppedWorker(
                    {
                        "library": name,
                        "url": server.url,
                        "rounds": rounds,
                        "per_round": per_round,
                        "cpu": client_cpu,
                    }
                )
                if worker.ready():  # started and warmed up one at a time
                    workers[name] = worker
                else:
                    results[name] = worker.finish()  # skipped
            stepped = list(workers)
            for r in range(rounds):
                # The starting library rotates, and every other round runs backwards, so that
                # no library always follows the same one.
                order = stepped[r % len(stepped) :] + stepped[: r % len(stepped)]
                for name in reversed(order) if r % 2 else order:
                    before = server.stats()
                    workers[name].round(r)
                    _add_served(served.setdefault(name, {}), before, server.stats())
            for name in stepped:
                results[name] = workers[name].finish()
                results[name]["server"] = served.get(name, {})
        finally:
            for worker in workers.values():
                worker.kill()
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
    seg3, ours3 = results.get("segment+3props", {}), results.get("tracker+3props", {})
    if "round_medians_ns" in seg3 and "round_medians_ns" in ours3:
        pairs = zip(seg3["round_medians_ns"], ours3["round_medians_ns"], strict=True)
        by_round = [a / b for a, b in pairs]
        seg3["ratio_to_tracker_by_round"] = {"median": median(by_round), "spread": spread(by_round)}
    for name in ROWS:
        res = results[name]
        res["label"] = "deque.append of a tuple (floor)" if name == "floor" else LIBRARIES[name]
        res["pinned"] = split is not None
        res["interleaved"] = name != "naive_put_events"
        print(f"  caller cost {name}: {_fmt(res)}", flush=True)
    return results


def _add_served(
    into: dict[str, dict[str, int]], before: dict[str, Any], after: dict[str, Any]
) -> None:
    """Add what the server counted between ``before`` and ``after`` (requests and events per
    path) to ``into``: what one library's round sent."""
    for kind in ("requests", "events"):
        counts = into.setdefault(kind, {})
        for path, n in after.get(kind, {}).items():
            counts[path] = counts.get(path, 0) + n - before.get(kind, {}).get(path, 0)


def _fmt(res: dict[str, Any]) -> str:
    if "skipped" in res:
        return f"skipped ({res['skipped']})"
    return f"median {res['median_ns']:.0f} ns, p99 {res['p99_ns']:.0f} ns"
