"""Delivery of one batch: the call through a transport, tenacity retries, and the split of a
poison batch.

The sender is stateless apart from its configuration and a stop signal, so any number of threads
share one instance (and the one transport inside it, which must be thread-safe).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from .._errors import SendError
from .._failure import FailedEvent, FailureReason
from ..typing import Transport
from .attempts import Aborted, Attempts, Deferred, DeliveryOutcome, Part, reason_of
from .health import ServiceHealth
from .ratelimit import AdaptiveRateLimiter
from .retry import RetryPolicy

__all__ = ["Aborted", "BatchSender", "Deferred", "DeliveryOutcome"]

R = TypeVar("R")
K = TypeVar("K")

# Seconds between two WARNING lines about retries (see BatchSender._warn_retrying).
_RETRY_WARNING_SECONDS = 30.0

logger = logging.getLogger("personalize_tracker")


class BatchSender(Generic[R, K]):
    """Delivers batches of one group through a transport, with retries and poison splitting.

    Args:
        transport: sends one batch in one call (shared by all sender threads).
        policy: the retry policy and the record age limit.
        on_request: called (with no lock held) before each call, with ``retry=True`` when the
            call is a retry; it keeps the live request counters.
        limiter: the request-rate limit shared by all sender threads, or None.
        name: the call's name in log lines (``"PutEvents"``).
        health: the outage state shared by all sender threads (default: a new one, with the
            policy's ``max_backoff``).
    """

    def __init__(
        self,
        transport: Transport[R, K],
        policy: RetryPolicy,
        on_request: Callable[[bool], None] | None = None,
        limiter: AdaptiveRateLimiter | None = None,
        name: str = "PutEvents",
        health: ServiceHealth | None = None,
    ) -> None:
        self.transport = transport
        self.policy = policy
        self.limiter = limiter
        self.name = name
        self.health = health if health is not None else ServiceHealth(policy.max_backoff, name=name)
        self._on_request = on_request
        self._stop = threading.Event()
        self._next_retry_warning = 0.0
        self._stop_at: float | None = None  # monotonic time after which waits end

    # -- stopping --------------------------------------------------------------------------

    def stop_waiting_at(self, when: float | None) -> None:
        """Make retry waits end (failing their part with reason ``closed``) at monotonic ``when``.

        ``None`` clears the limit. A time already past interrupts waits under way at once.
        """
        self._stop_at = when
        if when is not None and when <= time.monotonic():
            self._stop.set()
        else:
            self._stop.clear()
        self.health.wake()  # calls waiting for an outage's probe re-check their bounds

    def count_request(self, retry: bool) -> None:
        """A call is about to start (``retry``: it is a retry): the live request counters."""
        if self._on_request is not None:
            self._on_request(retry)

    def stopping_at(self) -> float | None:
        """The monotonic time retry waits end, or None."""
        return self._stop_at

    def wait(self, seconds: float) -> None:
        """Wait ``seconds``; raise :class:`Aborted` if the pipeline stops waiting first."""
        stop_at = self._stop_at
        if stop_at is not None:
            remaining = stop_at - time.monotonic()
            if remaining <= 0:
                raise Aborted
            if remaining < seconds:
                self._stop.wait(remaining)
                raise Aborted
        if self._stop.wait(seconds):
            raise Aborted

    def warn_retrying(self, error: SendError) -> None:
        """Log a retryable failure at WARNING, once per _RETRY_WARNING_SECONDS at most: an outage
        or throttling shows in the logs while it lasts, not only when records fail. Only when
        another attempt may follow (``max_attempts=1`` never retries)."""
        if self.policy.max_attempts <= 1 or self.health.outage:
            return  # no retry to announce; an outage logs its own entry and exit
        now = time.monotonic()
        if now < self._next_retry_warning:
            return
        self._next_retry_warning = now + _RETRY_WARNING_SECONDS
        logger.warning(
            "personalize-tracker: %s failed (%s: %s); retrying with backoff",
            self.name,
            error.code,
            error.message,
        )

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        key: K,
        records: list[R],
        tracked_at: list[float] | None = None,
        outcome: DeliveryOutcome[R] | None = None,
        *,
        deadline: float | None = None,
        retry_waits: bool = True,
    ) -> DeliveryOutcome[R]:
        """Deliver ``records`` (one group, 1 to a batch), splitting a batch the service rejects.

        Args:
            key: the group's key, handed to the transport.
            records: the records, in the order they were tracked.
            tracked_at: the monotonic time each was tracked (for ``max_event_age``), or None.
            outcome: the record to fill in (default: a new one). A caller that passes its own
                knows what was settled even if a ``BaseException`` (Ctrl-C) cuts the send short.
            deadline: monotonic time by which this returns, or None. Each call then runs on a
                helper thread and is abandoned at the deadline (it may still succeed: the
                records keep their event ids, so a second delivery is harmless); no retry wait
                runs past it. Records not delivered by then go to ``outcome.deferred``.
            retry_waits: False: one attempt per part, and no wait for an outage's probe slot;
                a retryable failure defers the part (``sync=True``'s ``track()``).

        When the transport says a record is invalid, a part of more than one record is halved
        and each half is sent again, until the offending record stands alone: only it fails
        (reason ``invalid``), the others are delivered. Before each attempt, records older than
        ``max_event_age`` are taken out (reason ``expired``). Never raises an ``Exception``:
        every record ends delivered, in ``outcome.failed`` or in ``outcome.deferred``.
        """
        if outcome is None:
            outcome = DeliveryOutcome()
        stack = [Part(records, tracked_at or [])]
        while stack:
            part = stack.pop()
            try:
                Attempts(self, key, part, outcome, deadline, retry_waits).run()
            except Deferred:
                outcome.deferred.extend(part.records)
                outcome.deferred_times.extend(part.times)
            except Aborted:
                last = part.last_error
                message = "the tracker stopped waiting" + (
                    "" if last is None else f" while retrying ({last.code}: {last.message})"
                )
                code = None if last is None else last.code
                outcome.failed.extend(
                    FailedEvent(r, FailureReason.CLOSED, code, message) for r in part.records
                )
            except SendError as error:
                if error.invalid and len(part.records) > 1:
                    first, second = part.split()
                    stack.append(second)
                    stack.append(first)  # popped first: order kept
                    continue
                reason = reason_of(error)
                outcome.failed.extend(
                    FailedEvent(r, reason, error.code, error.message) for r in part.records
                )
            else:
                outcome.delivered += len(part.records)
                outcome.delivered_events.extend(part.records)
        return outcome
