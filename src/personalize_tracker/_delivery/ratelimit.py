"""A client-side request-rate limit for PutEvents, shared by all sender threads.

A token bucket whose rate adapts: it drops to 70% when the service throttles (multiplicative
decrease, the factor the AWS SDKs' adaptive retry mode uses) and climbs back linearly towards the
configured ceiling (additive increase), the way TCP finds a link's capacity. The service's quota
is about 1000 PutEvents requests per second per dataset group; several processes feeding one
dataset group share it, so each should be given its part of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["AdaptiveRateLimiter"]

# Seconds of unused capacity that may be spent at once after a quiet spell.
_BURST_SECONDS = 0.1
# The rate is multiplied by this on each throttling signal.
_DECREASE = 0.7


class AdaptiveRateLimiter:
    """Token bucket with additive-increase / multiplicative-decrease of its rate.

    Args:
        max_rate: requests per second at most (the ceiling the rate recovers to), > 0.
        min_rate: requests per second the rate never falls below, > 0 (default: 5% of
            ``max_rate``, at least 1).
        recovery_seconds: seconds of throttle-free calls for the rate to climb from ``min_rate``
            back to ``max_rate`` (linear climb).
        clock: monotonic clock in seconds (injectable for tests).

    Thread-safe. :meth:`delay` reserves a slot and says how long to wait for it; the caller does
    the waiting (so that it can be interrupted).
    """

    def __init__(
        self,
        max_rate: float,
        *,
        min_rate: float | None = None,
        recovery_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_rate is None:
            min_rate = max(1.0, max_rate * 0.05)
        if not max_rate > 0 or not min_rate > 0:
            raise ValueError("max_rate and min_rate must be > 0 requests per second")
        self.max_rate = float(max_rate)
        self.min_rate = min(float(min_rate), self.max_rate)
        self._step = (self.max_rate - self.min_rate) / max(recovery_seconds, 1e-9)
        self._clock = clock
        self.clock = clock
        self._lock = threading.Lock()
        self._rate = self.max_rate
        now = clock()
        self._next_free = now - _BURST_SECONDS  # time the next request may start
        self._last_update = now
        self._last_decrease = float("-inf")
        self.throttled = 0  #: throttling answers reported

    @property
    def rate(self) -> float:
        """The current rate in requests per second."""
        with self._lock:
            self._recover(self._clock())
            return self._rate

    def delay(self) -> float:
        """Reserve the next request slot; return the seconds to wait before sending (>= 0).

        Slots are spaced ``1 / rate`` seconds apart; time left unused earns a burst of at most
        ``_BURST_SECONDS`` worth of requests.
        """
        with self._lock:
            now = self._clock()
            self._recover(now)
            interval = 1.0 / self._rate
            start = max(self._next_free, now - _BURST_SECONDS)
            self._next_free = start + interval
            return max(0.0, start - now)

    def wait_time(self) -> float:
        """Seconds until the next request slot is free (0: now), without reserving it."""
        with self._lock:
            return max(0.0, self._next_free - self._clock())

    def on_throttled(self, sent_at: float) -> None:
        """Cut the rate to 70%, once per congestion signal.

        Args:
            sent_at: the clock's time when the throttled request was sent. Answers to requests
                sent before the last decrease are the same signal and change nothing, so that a
                volley of throttled in-flight requests cuts the rate once, not once each.
        """
        with self._lock:
            now = self._clock()
            self.throttled += 1
            if sent_at <= self._last_decrease:
                return
            self._recover(now)
            self._rate = max(self.min_rate, self._rate * _DECREASE)
            self._last_decrease = now
            self._last_update = now

    def _recover(self, now: float) -> None:
        """Climb linearly towards max_rate for the time since the last update (lock held)."""
        if self._rate < self.max_rate:
            elapsed = now - self._last_update
            if elapsed > 0:
                self._rate = min(self.max_rate, self._rate + self._step * elapsed)
        self._last_update = now
