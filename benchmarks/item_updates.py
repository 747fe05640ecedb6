"""Section 8: item updates under the default PutItems rate limit: calls per distinct item.

``N`` ``put_item`` calls (10,000; 2,000 with ``--quick``) cycling over ``D`` distinct items
(500; 100), as fast as the caller can, then ``flush()``, against the loopback server, in a fresh
interpreter, with the Tracker's defaults (``dataset_requests_per_second=9``, under the quota of
10 PutItems calls per second). Updates of an item still waiting for its batch replace it
(coalescing), and waiting records wait in the buffer for the rate limit's next slot, so the
calls should be no more than ``ceil(D / 10)`` (issue 13). Reported: PutItems calls counted by the
server, the bound, the records the Tracker counted as coalesced, the wall time of the flush.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

from ._common import ROOT, ServerProcess, child_env

_PROBE = """
import json, time
from benchmarks._clients import ITEMS_DATASET_ARN, ITEM_PROPERTIES, make_tracker
n, distinct = {n}, {distinct}
tracker = make_tracker({url!r}, items_dataset_arn=ITEMS_DATASET_ARN)
t0 = time.perf_counter()
for i in range(n):
    tracker.put_item(f"item-{{i % distinct}}", {{**ITEM_PROPERTIES, "VERSION": i}})
t1 = time.perf_counter()
assert tracker.flush(600)
t2 = time.perf_counter()
items = tracker.stats().kinds["items"]
tracker.close()
print(json.dumps({{"put_s": t1 - t0, "flush_s": t2 - t1, "delivered": items.delivered,
                  "coalesced": items.coalesced, "requests": items.requests}}))
"""


def run(quick: bool) -> dict[str, Any]:
    n, distinct = (2_000, 100) if quick else (10_000, 500)
    with ServerProcess() as server:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE.format(n=n, distinct=distinct, url=server.url)],
            cwd=ROOT, env=child_env(), capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        served = server.stats()
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    calls = served.get("requests", {}).get("/items", 0)
    bound = math.ceil(distinct / 10)
    result.update(updates=n, distinct=distinct, calls=calls, bound=bound, met=calls <= bound)
    print(
        f"  item updates: {n:,} updates of {distinct} items -> {calls} PutItems calls "
        f"(bound {bound}), {result['coalesced']:,} coalesced, flush {result['flush_s']:.1f} s",
        flush=True,
    )
    return result
