"""The Tracker under gevent's monkey-patching (threads become greenlets)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("gevent")

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import threading

    import gevent

    from personalize_tracker import Tracker

    class Client:
        def __init__(self):
            self.events = []

        def put_events(self, **params):
            gevent.sleep(0.001)  # a cooperative "network" wait
            self.events.extend(e["eventId"] for e in params["eventList"])
            return {}

    client = Client()
    tracker = Tracker("t", client=client, flush_interval=0.01, max_queue_size=50,
                      overflow="block", block_timeout=10)

    def visitor(n):
        for i in range(20):
            tracker.track("view", f"s-{n}", f"u-{n}", f"i-{i}")

    gevent.joinall([gevent.spawn(visitor, n) for n in range(10)])
    assert tracker.flush(timeout=10)
    # greenlets share one OS thread: no adapting on thread CPU time, every sender is used
    assert tracker.stats().senders == tracker.max_workers, tracker.stats()
    tracker.close()
    stats = tracker.stats()
    assert stats.delivered == 200 and stats.dropped == 0, stats
    assert stats.senders == 0, stats  # close() stopped them
    assert len(set(client.events)) == 200
    print("OK", threading.current_thread().__class__.__module__)
    """
)


@pytest.mark.slow
def test_tracker_works_under_gevent_monkey_patching() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK")
