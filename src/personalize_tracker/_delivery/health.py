"""The service's health as delivery sees it: normal, or an outage.

An outage is the service's state, not a batch's. After ``threshold`` retryable failures in a row
(5xx answers, connection errors and timeouts), whatever batches they came from,
delivery enters an outage: one call at a time (the *probe*) goes out, the waits between probes
back off (full jitter) up to ``max_backoff``, and every other batch waits without spending an
attempt. The first call that gets an answer (a success, or an answer that is not retryable, such
as ``InvalidInputException`` or a throttling error: the service is up) ends the outage.
Throttling is not an outage: the adaptive rate limit answers it. Each transition is logged once,
at WARNING on entry and INFO on exit. What bounds a record during an outage is time
(``retry_deadline``, ``max_event_age``, a caller's timeout), never attempts used up against a
service that is down.

Shared by every sender thread of one pipeline; thread-safe (its own condition, never held
while calling out).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

__all__ = ["ServiceHealth", "Unavailable"]

logger = logging.getLogger("personalize_tracker")
_monotonic = time.monotonic


class Unavailable(Exception):
    """Raised by :meth:`ServiceHealth.enter` when the wait for a probe slot reaches ``until``."""


class ServiceHealth:
    """Counts retryable failures in a row and gates calls during an outage.

    Args:
        max_backoff: seconds; the cap of the wait between two probes (the Tracker's
            ``max_backoff``).
        threshold: retryable failures in a row that start an outage (>= 1).
        base_backoff: seconds; the first wait between probes.
        name: the call's name in log lines (``"PutEvents"``).

    Attributes:
        outage: whether delivery is in an outage now (a gauge in ``stats()``).
        outages: outages entered so far.
    """

    def __init__(
        self,
        max_backoff: float,
        threshold: int = 3,
        base_backoff: float = 0.1,
        name: str = "PutEvents",
    ) -> None:
        self.max_backoff = max_backoff
        self.threshold = threshold
        self.base_backoff = base_backoff
        self.name = name
        self.outage = False
        self.outages = 0
        self._cond = threading.Condition(threading.Lock())
        self._failures = 0  # retryable failures in a row
        self._probing = False  # a probe call is under way
        self._next_probe = 0.0  # monotonic time the next probe may start
        self._probes = 0  # failed probes in this outage

    def enter(
        self,
        until: float | None,
        stop: Callable[[], float | None],
        block: bool = True,
    ) -> tuple[bool, float]:
        """Wait until a call may start; return whether it is the outage's probe, and the
        seconds waited.

        Args:
            until: monotonic time past which the caller waits no longer, or None.
            stop: returns the monotonic time the pipeline stops waiting, or None: checked at
                every wake-up (see :meth:`wake`).
            block: False: raise :class:`Unavailable` at once rather than wait.

        Raises:
            Unavailable: ``until`` (or the stop time) came, or ``block`` is False, before a
                call may start.
        """
        if not self.outage:  # read without the lock: a stale False lets one more call out
            return False, 0.0
        started = _monotonic()
        with self._cond:
            while self.outage:
                now = _monotonic()
                if not self._probing and now >= self._next_probe:
                    self._probing = True
                    return True, now - started
                bound = until
                stop_at = stop()
                if stop_at is not None and (bound is None or stop_at < bound):
                    bound = stop_at
                if not block or (bound is not None and now >= bound):
                    raise Unavailable
                wake = None if self._probing else self._next_probe
                if bound is not None and (wake is None or bound < wake):
                    wake = bound
                self._cond.wait(None if wake is None else max(0.0, wake - now))
            return False, _monotonic() - started

    def wake(self) -> None:
        """Wake every waiter to re-check its bounds (the pipeline stops waiting)."""
        with self._cond:
            self._cond.notify_all()

    def answered(self, probe: bool) -> None:
        """A call got an answer that is not a retryable failure: the service is up."""
        if not self._failures and not self.outage and not probe:
            return  # the common case: nothing to change
        with self._cond:
            self._failures = 0
            if probe:
                self._probing = False
            if self.outage:
                self.outage = False
                self._probes = 0
                self._probing = False  # a probe still under way belongs to the outage over
                logger.info("personalize-tracker: %s answers again; the outage is over", self.name)
                self._cond.notify_all()

    def failed(self, probe: bool, detail: str) -> None:
        """A call failed with a retryable error (``detail``: its code and message)."""
        with self._cond:
            self._failures += 1
            now = _monotonic()
            if probe:
                self._probing = False
                self._probes += 1
                self._next_probe = now + self._backoff()
                self._cond.notify_all()
            elif not self.outage and self._failures >= self.threshold:
                self.outage = True
                self.outages += 1
                self._probes = 0
                self._probing = False  # a new outage: no probe of an earlier one holds the slot
                self._next_probe = now + self._backoff()
                logger.warning(
                    "personalize-tracker: %s failed %d times in a row (last: %s); outage: one "
                    "call at a time until it answers, other batches wait without spending "
                    "attempts",
                    self.name,
                    self._failures,
                    detail,
                )

    def abandoned(self, probe: bool) -> None:
        """A call ended without an answer about the service (the caller's deadline came first,
        Ctrl-C, a local error), or no call was made after all: free the probe slot."""
        if probe:
            with self._cond:
                self._probing = False
                self._cond.notify_all()

    def _backoff(self) -> float:
        """Full jitter: uniform in [0, min(max_backoff, base * 2**probes)], at least 1 ms."""
        cap = min(self.max_backoff, self.base_backoff * 2 ** min(self._probes, 32))
        return max(0.001, random.uniform(0, cap))
