"""Run the personalize-tracker benchmark suite; print Markdown tables and write results JSON.

Usage::

    python -m benchmarks.run                 # the full suite (~6-8 minutes on 2 cores)
    python -m benchmarks.run --quick         # smaller counts, one repetition (~2 minutes)
    python -m benchmarks.run --sections caller,import
    python -m benchmarks.run --quick --sections check    # check_interactions alone (~10 s)

Sections: caller (caller cost of one event), latency (latency added to a web request), delivery
(throughput and CPU), replay (calls per event, MovieLens), memory (bytes per queued event),
import (import cost), check (``check_interactions`` in MB/s on one core), items (PutItems calls
for 10,000 updates of 500 items under the default rate limit). Results go to
``benchmarks/results/latest.json`` (``--output`` to change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import caller_cost, check_speed, delivery, imports, item_updates, latency, memory, replay
from ._common import ROOT, install_network_guard, load_average, machine_info

WORKERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "caller_cost": caller_cost.worker,
    "latency": latency.worker,
    "delivery": delivery.worker,
    "replay": replay.worker,
    "memory": memory.worker,
}
SECTIONS: dict[str, Callable[[bool], Any]] = {
    "caller": caller_cost.run,
    "latency": latency.run,
    "delivery": delivery.run,
    "replay": replay.run,
    "memory": memory.run,
    "import": imports.run,
    "check": check_speed.run,
    "items": item_updates.run,
}
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "latest.json"


# ---------------------------------------------------------------------------------------------
# targets


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each maintainers' target with the measured figure and met/missed (None: not measured)."""
    r = results
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, target: str, ok: bool | None, unit: str) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            ok = None
        out.append({"target": name, "value": value, "unit": unit, "goal": target, "met": ok})

    t = _get(r, "caller", "tracker", "median_ns")
    t3 = _get(r, "caller", "tracker+3props", "median_ns")
    seg = _get(r, "caller", "segment", "median_ns")
    seg3 = _get(r, "caller", "segment+3props", "median_ns")
    add(
        "track() median, no properties",
        t and t / 1e3,
        "<= 1.8 us",
        t is not None and t <= 1800,
        "us",
    )
    add(
        "track() median, 3 properties",
        t3 and t3 / 1e3,
        "<= 6 us",
        t3 is not None and t3 <= 6000,
        "us",
    )
    item = _get(r, "caller", "put_item", "median_ns")
    item_ratio = item / t if item and t else None
    add(
        "put_item() (3 properties) / track() (medians)",
        item_ratio,
        "<= 2x (issue 13)",
        item_ratio is not None and item_ratio <= 2,
        "x",
    )
    updates = _get(r, "items")
    add(
        "10,000 item updates: PutItems calls <= ceil(distinct / 10)",
        updates and updates["calls"],
        f"<= {updates['bound']}" if updates else "<= ceil(distinct / 10)",
        updates is not None and updates["calls"] <= updates["bound"],
        "calls",
    )
    ratio = seg / t if seg and t else None
    add(
        "Segment track() / Tracker.track() (medians)",
        ratio,
        ">= 10x",
        ratio is not None and ratio >= 10,
        "x",
    )
    ratio3 = seg3 / t3 if seg3 and t3 else None
    add(
        "Segment track() / Tracker.track(), both with 3 properties (medians)",
        ratio3,
        ">= 10x",
        ratio3 is not None and ratio3 >= 10,
        "x",
    )
    lat = _get(r, "latency", "tracker", "rates", "500", "add_p50_us")
    add("added p50 latency at 500 req/s", lat, "<= 20 us", lat is not None and lat <= 20, "us")
    p99 = _get(r, "latency", "tracker", "rates", "2000", "add_p99_us")
    seg_p99 = _get(r, "latency", "segment", "rates", "2000", "add_p99_us")
    add(
        "added p99 latency at 2,000 req/s",
        p99,
        f"<= Segment's ({seg_p99:,.0f} us)" if seg_p99 is not None else "<= Segment's",
        p99 is not None and seg_p99 is not None and p99 <= seg_p99,
        "us",
    )
    behind = _get(r, "latency", "tracker", "rates", "2000", "behind")
    add(
        "blocks behind at 2,000 req/s (p99 > 10 ms over the no-tracking blocks)",
        None if behind is None else len(behind),
        "0",
        behind is not None and not behind,
        "blocks",
    )
    d = _get(r, "delivery", "tracker_default")
    bare = _get(r, "delivery", "bare_plain")
    rate = d and d["events_per_s"]
    add(
        "delivery, defaults",
        rate,
        ">= 9,000 events/s",
        rate is not None and rate >= 9000,
        "events/s",
    )
    cpu = d and d["cpu_us_per_event"]
    bare_cpu = bare and bare["cpu_us_per_event"]
    add("CPU per delivered event, defaults", cpu, "<= 40 us", cpu is not None and cpu <= 40, "us")
    cpu_ratio = cpu / bare_cpu if cpu and bare_cpu else None
    add(
        "CPU per delivered event / bare boto3 loop's",
        cpu_ratio,
        f"<= 0.45x ({bare_cpu:.1f} us)" if bare_cpu else "<= 0.45x",
        cpu_ratio is not None and cpu_ratio <= 0.45,
        "x",
    )
    free = _get(r, "delivery", "tracker_no_rate_limit", "events_per_s")
    add(
        "delivery without the rate limit, one process",
        free,
        ">= 25,000 events/s",
        free is not None and free >= 25000,
        "events/s",
    )
    d20 = _get(r, "delivery", "rtt20_tracker_default", "events_per_s")
    add(
        "delivery at 20 ms RTT, defaults",
        d20,
        ">= 8,000 events/s",
        d20 is not None and d20 >= 8000,
        "events/s",
    )
    c20 = _get(r, "delivery", "rtt20_tracker_default", "cpu_us_per_event")
    add(
        "CPU per delivered event at 20 ms RTT, defaults",
        c20,
        "<= 60 us",
        c20 is not None and c20 <= 60,
        "us",
    )
    d20t = _get(r, "delivery", "rtt20_tracker_tuned", "events_per_s")
    tuning = ", ".join(f"{k}={v}" for k, v in delivery.TUNED.items())
    add(
        f"delivery at 20 ms RTT, tuned ({tuning})",
        d20t,
        ">= 7,000 events/s",
        d20t is not None and d20t >= 7000,
        "events/s",
    )
    cpe = _get(r, "replay", "ratio_to_floor")
    add(
        "calls per event / floor (MovieLens)", cpe, "<= 1.05x", cpe is not None and cpe <= 1.05, "x"
    )
    mem = _get(r, "memory", "tracker", "bytes_per_event")
    add(
        "bytes per queued event, no properties",
        mem,
        "<= 300 B",
        mem is not None and mem <= 300,
        "B",
    )
    ims = _get(r, "import", "added_ms")
    add("import time over boto3", ims, "<= 30 ms", ims is not None and ims <= 30, "ms")
    imm = _get(r, "import", "added_mib")
    add("import memory over boto3", imm, "<= 5 MiB", imm is not None and imm <= 5, "MiB")
    chk = _get(r, "check", "cpu_mb_per_s")
    add(
        "check of an Interactions CSV, one core",
        chk,
        ">= 20 MB/s",
        chk is not None and chk >= 20,
        "MB/s",
    )
    return out


# ---------------------------------------------------------------------------------------------
# Markdown


def _n(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (int, float)) and abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _rng(values: Any, digits: int = 1, scale: float = 1.0) -> str:
    if not values:
        return "-"
    return f"{_n(values[0] * scale, digits)} - {_n(values[1] * scale, digits)}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _behind(x: dict[str, Any]) -> str:
    """How many blocks fell behind, and what the library's threads did per block."""
    if "behind" not in x:
        return "-"
    blocks = x["blocks"]["lib"]
    text = f"{len(x['behind'])} of {len(blocks)}"
    if blocks and "threads_cpu_ms" in blocks[0]:
        cpu = sorted(b["threads_cpu_ms"] for b in blocks)[len(blocks) // 2]
        wake = sorted(b["threads_wakeups"] for b in blocks)[len(blocks) // 2]
        threads = sorted(b["threads"] for b in blocks)[len(blocks) // 2]
        extra = f"{cpu:.0f} ms, {wake} wake-ups, {threads} threads"
        if "calls" in blocks[0]:
            extra += f", {sorted(b['calls'] for b in blocks)[len(blocks) // 2]} calls"
        text += f" ({extra})"
    return text


def markdown(doc: dict[str, Any]) -> str:
    r = doc["results"]
    m = doc["machine"]
    parts = [
        f"## personalize-tracker benchmarks ({'quick' if doc['quick'] else 'full'} run, "
        f"{doc['finished']})",
        f"Machine: {m['cpu_model']}, {m['cpu_count']} cores, Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["libraries"].items() if v)
        + f". Suite took {doc['seconds']:.0f} s.",
    ]
    if "caller" in r:
        rows = []
        for res in r["caller"].values():
            if "skipped" in res:
                rows.append([res["label"], "skipped", "", "", res["skipped"]])
                continue
            rows.append(
                [
                    res["label"],
                    _n(res["median_ns"], 0),
                    _n(res["p99_ns"], 0),
                    _rng(res["round_median_spread_ns"], 0),
                    f"{res['calls']:,}",
                ]
            )
        parts += [
            "### 1. Caller cost of one event (ns per call, sending on)",
            _table(["call", "median ns", "p99 ns", "round medians (min - max)", "calls"], rows),
        ]
        by_round = _get(r, "caller", "segment", "ratio_to_tracker_by_round")
        if by_round:
            parts.append(
                "Rounds interleaved between libraries. Segment / Tracker, round by round: median "
                f"{by_round['median']:.1f}x ({_rng(by_round['spread'], 1)})."
            )
        by_round3 = _get(r, "caller", "segment+3props", "ratio_to_tracker_by_round")
        if by_round3:
            parts.append(
                "With 3 properties each, Segment / Tracker, round by round: median "
                f"{by_round3['median']:.1f}x ({_rng(by_round3['spread'], 1)})."
            )
    if "latency" in r:
        rows = []
        for res in r["latency"].values():
            for rate, x in res["rates"].items():
                rows.append(
                    [
                        res["label"],
                        rate,
                        _n(x["none_p50_us"]),
                        _n(x["add_p50_us"]),
                        _rng(x["add_p50_spread_us"]),
                        _n(x["none_p99_us"]),
                        _n(x["add_p99_us"]),
                        _rng(x["add_p99_spread_us"]),
                        _behind(x),
                    ]
                )
        parts += [
            "### 2. Latency added to a web request (us; ~200 us of work + one event)",
            _table(
                [
                    "library",
                    "req/s",
                    "p50 without",
                    "added p50",
                    "(spread)",
                    "p99 without",
                    "added p99",
                    "(spread)",
                    "blocks behind",
                ],
                rows,
            ),
            "A block is behind when its p99 exceeds the no-tracking blocks' p99 by more than "
            "10 ms; in brackets, the library's threads per block (median: CPU, wake-ups, "
            "threads; the Tracker's calls).",
        ]
    if "delivery" in r:
        rows = []
        for case, res in r["delivery"].items():
            opts = ", ".join(f"{k}={v}" for k, v in res["options"].items()) or "defaults"
            run0 = res["runs"][0]
            rows.append(
                [
                    case,
                    f"{res['delay_ms']} ms",
                    opts if res["mode"] == "tracker" else res["mode"],
                    f"{res['events']:,}",
                    f"{run0['requests']:,}",
                    _n(res["events_per_s"], 0),
                    _rng(res["events_per_s_spread"], 0),
                    _n(res["cpu_us_per_event"]),
                    _rng(res["cpu_us_per_event_spread"]),
                    str(run0.get("senders", "")),
                ]
            )
        parts += [
            "### 3. Delivery throughput and process CPU",
            _table(
                [
                    "case",
                    "server delay",
                    "setup",
                    "events",
                    "calls",
                    "events/s",
                    "(spread)",
                    "CPU us/event",
                    "(spread)",
                    "senders at end",
                ],
                rows,
            ),
        ]
    if "replay" in r:
        x = r["replay"]
        parts += [
            "### 4. PutEvents calls per event, MovieLens replay",
            _table(
                [
                    "events",
                    "sessions",
                    "calls",
                    "floor calls",
                    "calls/event",
                    "floor/event",
                    "ratio",
                ],
                [
                    [
                        f"{x['events']:,}",
                        f"{x['sessions']:,}",
                        f"{x['requests']:,}",
                        f"{x['floor_calls']:,}",
                        _n(x["calls_per_event"], 4),
                        _n(x["floor_calls_per_event"], 4),
                        _n(x["ratio_to_floor"], 3),
                    ]
                ],
            ),
        ]
    if "memory" in r:
        rows = [
            [res["label"], _n(res["bytes_per_event"], 0), f"{res['events']:,}"]
            for res in r["memory"].values()
        ]
        parts += [
            "### 5. Memory per queued event (tracemalloc, sending paused)",
            _table(["library", "bytes/event", "events"], rows),
        ]
    if "import" in r:
        x = r["import"]
        rows = [
            [mod, _n(x[mod]["ms"]), _rng(x[mod]["ms_spread"]), _n(x[mod]["rss_mib"], 2)]
            for mod in ("boto3", "personalize_tracker")
        ]
        rows.append(["added", _n(x["added_ms"]), "", _n(x["added_mib"], 2)])
        parts += [
            f"### 6. Import cost (fresh interpreters, median of {x['runs']})",
            _table(["import", "ms", "(spread)", "RSS MiB"], rows),
        ]
    if "check" in r:
        x = r["check"]
        rows = [[f"{x['bytes'] / 1e6:.0f} MB, {x['rows']:,} rows", _n(x["cpu_mb_per_s"]),
                 _rng(x["cpu_mb_per_s_spread"]), _n(x["wall_mb_per_s"])]]  # fmt: skip
        parts += [
            f"### 7. check_interactions (fresh interpreters, median of {x['runs']})",
            _table(["file", "MB/s (CPU)", "(spread)", "MB/s (wall)"], rows),
        ]
    rows = [
        [
            t["target"],
            f"{_n(t['value'], 2 if t['unit'] in ('x', 'MiB', 'us') else 1)} {t['unit']}",
            t["goal"],
            {True: "met", False: "**missed**", None: "not measured"}[t["met"]],
        ]
        for t in doc["targets"]
    ]
    parts += ["### Targets", _table(["target", "measured", "goal", "status"], rows)]
    cores = m["cpu_count"] or 1
    busy = {k: v for k, v in doc["load_average"].items() if v["before"] and v["before"][0] > cores}
    if busy:
        parts.append(
            "**Warning**: the 1-minute load average exceeded the core count before section(s) "
            + ", ".join(f"{k} ({v['before'][0]})" for k, v in busy.items())
            + ": other processes competed for the CPU, so those figures are pessimistic."
        )
    net = doc["network"]
    parts.append(
        f"Network guard: {net['connects']:,} connections, all to 127.0.0.1; "
        f"{len(net['blocked'])} non-loopback attempts blocked."
    )
    return "\n\n".join(parts) + "\n"


def _collect_network(node: Any, acc: dict[str, Any]) -> None:
    if isinstance(node, dict):
        if "network" in node and isinstance(node["network"], dict):
            acc["connects"] += node["network"].get("connects", 0)
            acc["blocked"] += node["network"].get("blocked", [])
        for key, value in node.items():
            if key != "network":
                _collect_network(value, acc)
    elif isinstance(node, list):
        for value in node:
            _collect_network(value, acc)


# ---------------------------------------------------------------------------------------------
# main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="personalize-tracker benchmark suite")
    parser.add_argument("--quick", action="store_true", help="smaller counts, one repetition")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all): {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="results JSON path (the tables go beside it, as .md; a .md path is taken as both)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        install_network_guard()
        WORKERS[args.worker](json.loads(args.params))
        return 0
    install_network_guard()
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    started = time.perf_counter()
    results: dict[str, Any] = {}
    loads: dict[str, Any] = {}
    for section in chosen:
        before = load_average()
        print(f"[{section}] load average {before}", flush=True)
        results[section] = SECTIONS[section](args.quick)
        loads[section] = {"before": before, "after": load_average()}
    network = {"connects": 0, "blocked": []}
    _collect_network(results, network)
    doc = {
        "quick": args.quick,
        "sections": chosen,
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": time.perf_counter() - started,
        "machine": machine_info(),
        "targets": [],
        "network": network,
        "load_average": loads,
        "results": results,
    }
    doc["targets"] = targets(results)
    text = markdown(doc)
    print()
    print(text)
    output = args.output.with_suffix(".json")  # never the .md beside it: it would be overwritten
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    tmp.replace(output)
    output.with_suffix(".md").write_text(text)
    print(f"Results: {output}")
    return 1 if network["blocked"] else 0


if __name__ == "__main__":
    sys.exit(main())
