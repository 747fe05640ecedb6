"""Section 6: import cost of ``personalize_tracker`` over ``boto3``.

Each measure is a fresh interpreter (``python -c``) that times one import statement with
``perf_counter`` and reads its resident memory (VmRSS) before and after. The two imports alternate,
several runs each; medians are compared.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from ._common import ROOT, child_env, median, spread

_PROBE = """
import time
def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
r0 = rss(); t0 = time.perf_counter()
import {module}
t1 = time.perf_counter(); r1 = rss()
print(t1 - t0, r1 - r0)
"""


def _probe(module: str) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), int(out[1])


def run(quick: bool) -> dict[str, Any]:
    runs = 3 if quick else 9
    modules = ("boto3", "personalize_tracker")
    times: dict[str, list[float]] = {m: [] for m in modules}
    rss: dict[str, list[int]] = {m: [] for m in modules}
    for module in modules:  # warm the file cache and .pyc files
        _probe(module)
    for _ in range(runs):
        for module in modules:
            t, r = _probe(module)
            times[module].append(t * 1e3)
            rss[module].append(r)
    res: dict[str, Any] = {
        m: {
            "ms": median(times[m]),
            "ms_spread": spread(times[m]),
            "rss_mib": median(rss[m]) / 2**20,
            "rss_mib_spread": [v / 2**20 for v in spread(rss[m])],
        }
        for m in modules
    }
    res["runs"] = runs
    res["added_ms"] = res["personalize_tracker"]["ms"] - res["boto3"]["ms"]
    res["added_mib"] = res["personalize_tracker"]["rss_mib"] - res["boto3"]["rss_mib"]
    print(
        f"  import: boto3 {res['boto3']['ms']:.1f} ms, personalize_tracker "
        f"{res['personalize_tracker']['ms']:.1f} ms (+{res['added_ms']:.1f} ms, "
        f"+{res['added_mib']:.2f} MiB)",
        flush=True,
    )
    return res
