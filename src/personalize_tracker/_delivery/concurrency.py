"""How many PutEvents calls the sender threads keep in flight: as many as the round trip needs.

A PutEvents call is part Python (botocore building, signing and parsing the request, with the GIL
held) and part waiting (the network and the service, with the GIL released). Waits overlap, Python
work does not: with ``c`` seconds of CPU and ``d`` seconds of waiting per call, one process
delivers at most ``1 / c`` calls per second, reached with about ``1 + d / c`` calls in flight
(the knee of a closed queueing network with one CPU server and one delay server). More senders
than that add nothing but GIL hand-offs: eight sender threads against a loopback endpoint deliver
fewer events per second than one, for a third more CPU per event. Fewer leave throughput on the
table when the service is 20 ms away.

Both quantities are measured on the calls themselves: ``c`` is the sender thread's CPU time
(``time.thread_time``, which GIL waits do not inflate), ``d`` the smallest ``wall - c`` of the
window's calls (the call that waited least for the GIL shows the network's share best; contention
only ever adds to it). That gives a target of ``1 + round(_HEADROOM * d / c)`` senders; the
headroom covers the soft knee of real traffic (calls do not arrive at the GIL evenly spaced).
The limit moves towards the target only while the allowed senders are busy (in calls for most of
the window), at most doubling per window: senders that keep up with the traffic are enough, each
extra runnable thread takes GIL time from the application's request threads, and one window whose
calls waited long (on a starved machine, where a runnable sender's wait for a CPU or for the GIL
counts as waiting) must not start a dozen threads at once (measured: a web worker at 2,000
requests/s on one CPU had its only slow blocks where the limit jumped from 1 to 11). Above the
target it falls (at most halving per window); below it, with senders mostly idle, it falls by
one. When application threads hold the
GIL and delivery falls behind, the senders' calls wait longer, ``d`` grows and so does the
target: delivery gets its share.

Senders stuck on one batch (a hung connection, a retry backoff) do not count against the limit,
and if no call ends during a window while batches wait, the limit grows by one: the waiting
batches are not held up behind them.

In a free-threaded build (no GIL) threads do not contend that way, and under gevent or eventlet
(threads become greenlets on one OS thread) a thread's CPU time measures every greenlet: in both
cases, and on Windows (its thread CPU clock ticks every ~15.6 ms, longer than a call), all
``maximum`` senders are used.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

__all__ = ["SenderConcurrency", "gil_enabled"]

# Seconds of one measuring window (it ends at the first look at the clock after that).
_WINDOW = 0.05
# Senders per call's worth of waiting beyond the first: > 1 because the knee is soft.
_HEADROOM = 1.5
# Share of the window the allowed senders spent in calls above which more may be added, and
# below which one is taken away: senders that keep up with the traffic are enough, and each one
# more takes GIL time from the application's threads (latency added to its requests).
_BUSY = 0.75
_IDLE = 0.5


def gil_enabled() -> bool:
    """Whether this interpreter runs with a GIL (False in a free-threaded build that runs
    without one)."""
    check: Callable[[], bool] | None = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else check()


def _green_threads() -> bool:
    """Whether gevent or eventlet replaced threads with greenlets: all of them then run on one
    OS thread, whose CPU time says nothing about one call's."""
    gevent_monkey = sys.modules.get("gevent.monkey")
    if gevent_monkey is not None and gevent_monkey.is_module_patched("threading"):
        return True
    eventlet_patcher = sys.modules.get("eventlet.patcher")
    return bool(eventlet_patcher is not None and eventlet_patcher.is_monkey_patched("thread"))


class SenderConcurrency:
    """The number of sender threads allowed to deliver at once, between 1 and ``maximum``.

    Args:
        maximum: the most senders (the Tracker's ``max_workers``), >= 1.
        window: seconds of one measuring window.
        clock: monotonic clock in seconds (injectable for tests).
        adaptive: adapt (default: unless the interpreter runs without a GIL, gevent or
            eventlet turned threads into greenlets, or on Windows, whose thread CPU clock ticks
            every ~15.6 ms); when False :attr:`limit` is ``maximum`` throughout.

    Not thread-safe: the sender pool calls it with the pipeline's lock held.
    """

    __slots__ = (
        "_busy",
        "_calls",
        "_clock",
        "_cpu",
        "_min_wait",
        "_window_end",
        "_window_start",
        "adaptive",
        "limit",
        "maximum",
        "window",
    )

    def __init__(
        self,
        maximum: int,
        *,
        window: float = _WINDOW,
        clock: Callable[[], float] = time.monotonic,
        adaptive: bool | None = None,
    ) -> None:
        if maximum < 1:
            raise ValueError(f"maximum must be >= 1 sender, got {maximum!r}")
        self.maximum = maximum
        if adaptive is None:
            # Windows counts thread CPU time in clock ticks (~15.6 ms): too coarse for a call.
            adaptive = gil_enabled() and not _green_threads() and sys.platform != "win32"
        self.adaptive = adaptive
        #: Senders allowed to deliver at once.
        self.limit = 1 if self.adaptive else maximum
        #: Seconds of one measuring window.
        self.window = window
        self._clock = clock
        self._window_start = clock()
        self._window_end = self._window_start + window
        self._calls = 0
        self._cpu = 0.0
        self._busy = 0.0
        self._min_wait = float("inf")

    def observe(self, wall: float, cpu: float) -> bool:
        """Record one finished call: ``wall`` seconds from start to end (waits for the rate
        limit or between retries left out), ``cpu`` seconds of its sender thread's CPU time.
        Return True when the window is over: call :meth:`adjust`."""
        if not self.adaptive:
            return False
        self._calls += 1
        self._cpu += cpu
        self._busy += wall
        wait = wall - cpu
        if wait < self._min_wait:
            self._min_wait = wait
        return self._clock() >= self._window_end

    def due(self) -> bool:
        """Whether the window is over (for the sender watching calls: see :meth:`adjust`)."""
        return self.adaptive and self._clock() >= self._window_end

    def adjust(self, backlog: bool, stalled: int = 0) -> int:
        """End the window: set :attr:`limit` from its calls and start the next window.

        Args:
            backlog: ready batches are waiting that no sender has taken (used when no call
                ended in the window: the limit then grows by one).
            stalled: senders stuck on one batch for long (a hung connection, a retry
                backoff): the limit makes room for as many more.

        Returns:
            the new limit.
        """
        limit = self.limit
        now = self._clock()
        if self._calls:
            cpu = max(self._cpu / self._calls, 1e-6)
            target = 1 + round(_HEADROOM * max(0.0, self._min_wait) / cpu) + stalled
            # How busy the allowed senders were: stalled ones count as busy throughout.
            elapsed = max(now - self._window_start, 1e-6)
            busy = (self._busy + stalled * elapsed) / (elapsed * limit)
            if target < limit:  # more senders than where the time goes calls for
                limit = max(target, limit // 2)  # at most halve at once: one odd window
            elif busy >= _BUSY:  # the senders keep busy: towards what the round trip needs
                limit = min(target, 2 * limit + stalled)
            elif busy < _IDLE:  # the senders keep up with time to spare: one fewer
                limit -= 1
        elif backlog:
            limit += 1
        self.limit = min(self.maximum, max(1, limit))
        self._window_start, self._window_end = now, now + self.window
        self._calls, self._cpu, self._busy, self._min_wait = 0, 0.0, 0.0, float("inf")
        return self.limit
