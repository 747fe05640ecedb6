"""Section 7: ``check_interactions`` speed, in MB of Interactions CSV per second on one core.

The file is MovieLens' ratings written as an Interactions CSV (USER_ID, ITEM_ID, EVENT_TYPE,
EVENT_VALUE, TIMESTAMP), repeated with distinct user ids until it holds about 20 MB (100 MB for
the full run), in a temporary folder. Each run checks it once against a target (so the counts for
readiness are made too), in a fresh interpreter; CPU time (``process_time``: one core) and wall
time are both recorded, CPU is the figure.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._common import ROOT, child_env, median, spread

RATINGS = ROOT / "datasets" / "movielens-latest-small" / "ratings.csv"

_PROBE = """
import time
from personalize_tracker import Target, check_interactions
target = Target.domain("VIDEO_ON_DEMAND")
c0, w0 = time.process_time(), time.perf_counter()
result = check_interactions({path!r}, target=target)
c1, w1 = time.process_time(), time.perf_counter()
assert result.problem_count == 0 and result.rows > 0, result
print(c1 - c0, w1 - w0, result.rows)
"""


def _write(path: Path, megabytes: float) -> int:
    with RATINGS.open(newline="") as source:
        rows = list(csv.reader(source))[1:]
    with path.open("w", newline="") as out:
        out.write("USER_ID,ITEM_ID,EVENT_TYPE,EVENT_VALUE,TIMESTAMP\n")
        copy = 0
        while out.tell() < megabytes * 1e6:
            out.writelines(f"{u}-{copy},{m},Watch,{r},{t}\n" for u, m, r, t in rows)
            copy += 1
    return path.stat().st_size


def run(quick: bool) -> dict[str, Any]:
    runs = 1 if quick else 3
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "interactions.csv"
        size = _write(path, 20 if quick else 100)
        cpu, wall = [], []
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", _PROBE.format(path=str(path))],
                cwd=ROOT, env=child_env(), capture_output=True, text=True, check=True,
            ).stdout.split()  # fmt: skip
            cpu.append(size / float(out[0]) / 1e6)
            wall.append(size / float(out[1]) / 1e6)
            rows = int(out[2])
    return {
        "bytes": size,
        "rows": rows,
        "runs": runs,
        "cpu_mb_per_s": median(cpu),
        "cpu_mb_per_s_spread": spread(cpu),
        "wall_mb_per_s": median(wall),
    }
