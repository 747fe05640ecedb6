"""Delivery of one batch: the call through a transport, tenacity retries, and the split of a
poison batch.

The sender is stateless apart from its configuration and a stop signal, so any number of threads
share one instance (and the one transport inside it, which must be thread-safe).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import attrs

from .._errors import PartialSendError, SendError
from .._failure import FailedEvent, FailureReason
from ..typing import Transport
from .ratelimit import AdaptiveRateLimiter
from .retry import RetryPolicy, replaying, retrying

__all__ = ["Aborted", "BatchSender", "DeliveryOutcome"]

R = TypeVar("R")
K = TypeVar("K")

# Seconds between two WARNING lines about retries (see BatchSender._warn_retrying).
_RETRY_WARNING_SECONDS = 30.0

logger = logging.getLogger("personalize_tracker")


@attrs.define
class DeliveryOutcome(Generic[R]):
    """What became of one batch: ``delivered`` records (and which), and the ``failed`` ones."""

    delivered: int = 0
    failed: list[FailedEvent] = attrs.field(factory=list)
    delivered_events: list[R] = attrs.field(factory=list)
    #: Seconds spent waiting on purpose: for the rate limit, and between retries.
    waited: float = 0.0

    def unsettled(self, records: Sequence[R]) -> list[R]:
        """Those of ``records`` neither delivered nor failed yet (after an interruption)."""
        settled = {id(r) for r in self.delivered_events}
        settled.update(id(f.event) for f in self.failed)
        return [r for r in records if id(r) not in settled]


class Aborted(Exception):
    """Raised inside a retry wait when the pipeline stops waiting (close or exit timeout)."""


class _Part(Generic[R]):
    """Records sent together in one call (a batch, or a half of a rejected one)."""

    __slots__ = ("last_error", "records", "times")

    def __init__(self, records: list[R], times: list[float]) -> None:
        self.records = records
        self.times = times  # monotonic time each was tracked, or [] when unknown
        self.last_error: SendError | None = None  # of the latest failed attempt

    def split(self) -> tuple[_Part[R], _Part[R]]:
        half = len(self.records) // 2
        return (
            _Part(self.records[:half], self.times[:half]),
            _Part(self.records[half:], self.times[half:]),
        )


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, SendError) and exc.retryable


def _reason(error: SendError) -> FailureReason:
    if error.invalid:
        return FailureReason.INVALID
    if error.retryable:
        return FailureReason.RETRIES_EXHAUSTED
    if error.rejected:
        return FailureReason.REJECTED
    return FailureReason.ERROR


class BatchSender(Generic[R, K]):
    """Delivers batches of one group through a transport, with retries and poison splitting.

    Args:
        transport: sends one batch in one call (shared by all sender threads).
        policy: the retry policy and the record age limit.
        on_request: called (with no lock held) before each call, with ``retry=True`` when the
            call is a retry; it keeps the live request counters.
        limiter: the request-rate limit shared by all sender threads, or None.
        name: the call's name in log lines (``"PutEvents"``).
    """

    def __init__(
        self,
        transport: Transport[R, K],
        policy: RetryPolicy,
        on_request: Callable[[bool], None] | None = None,
        limiter: AdaptiveRateLimiter | None = None,
        name: str = "PutEvents",
    ) -> None:
        self.transport = transport
        self.policy = policy
        self.limiter = limiter
        self.name = name
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

    def _sleep(self, seconds: float) -> None:
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

    def _warn_retrying(self, error: SendError) -> None:
        """Log a retryable failure at WARNING, once per _RETRY_WARNING_SECONDS at most: an outage
        or throttling shows in the logs while it lasts, not only when records fail."""
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
    ) -> DeliveryOutcome[R]:
        """Deliver ``records`` (one group, 1 to a batch), splitting a batch the service rejects.

        Args:
            key: the group's key, handed to the transport.
            records: the records, in the order they were tracked.
            tracked_at: the monotonic time each was tracked (for ``max_event_age``), or None.
            outcome: the record to fill in (default: a new one). A caller that passes its own
                knows what was settled even if a ``BaseException`` (Ctrl-C) cuts the send short.

        When the transport says a record is invalid, a part of more than one record is halved
        and each half is sent again, until the offending record stands alone: only it fails
        (reason ``invalid``), the others are delivered. Before each attempt, records older than
        ``max_event_age`` are taken out (reason ``expired``). Never raises an ``Exception``:
        every record ends delivered or in ``outcome.failed``.
        """
        if outcome is None:
            outcome = DeliveryOutcome()
        stack = [_Part(records, tracked_at or [])]
        while stack:
            part = stack.pop()
            try:
                self._send_with_retries(key, part, outcome)
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
                reason = _reason(error)
                outcome.failed.extend(
                    FailedEvent(r, reason, error.code, error.message) for r in part.records
                )
            else:
                outcome.delivered += len(part.records)
                outcome.delivered_events.extend(part.records)
        return outcome

    def _expire(self, part: _Part[R], outcome: DeliveryOutcome[R]) -> None:
        """Move records older than max_event_age out of ``part`` into ``outcome.failed``."""
        max_age = self.policy.max_event_age
        if max_age is None or not part.times:
            return
        oldest_allowed = time.monotonic() - max_age
        if min(part.times) >= oldest_allowed:
            return
        keep_records: list[R] = []
        keep_times: list[float] = []
        for record, tracked in zip(part.records, part.times, strict=True):
            if tracked < oldest_allowed:
                outcome.failed.append(
                    FailedEvent(
                        record,
                        FailureReason.EXPIRED,
                        None,
                        f"still undelivered {max_age:g} s after it was tracked (max_event_age)",
                    )
                )
            else:
                keep_records.append(record)
                keep_times.append(tracked)
        part.records, part.times = keep_records, keep_times

    @staticmethod
    def _settle_partial(
        part: _Part[R], error: PartialSendError, outcome: DeliveryOutcome[R]
    ) -> bool:
        """Settle a call that failed for some records only: the others are delivered, those
        whose error is final fail with its reason, and ``part`` keeps the retryable ones.
        Return True when none is left to retry."""
        retry: list[R] = []
        times: list[float] = []
        for index, record in enumerate(part.records):
            own = error.errors.get(index)
            if own is None:
                outcome.delivered += 1
                outcome.delivered_events.append(record)
            elif own.retryable:
                retry.append(record)
                if part.times:
                    times.append(part.times[index])
            else:
                outcome.failed.append(FailedEvent(record, _reason(own), own.code, own.message))
        part.records, part.times = retry, times
        return not retry

    def _send_with_retries(self, key: K, part: _Part[R], outcome: DeliveryOutcome[R]) -> None:
        """Send ``part`` with retries; on return every record left in it was delivered.

        Raises:
            SendError: the last attempt's error, when retrying is over.
            Aborted: the pipeline stopped waiting.
        """
        transport, limiter, on_request = self.transport, self.limiter, self._on_request
        is_retry = False

        def sleep(seconds: float) -> None:
            outcome.waited += seconds
            self._sleep(seconds)

        def attempt() -> None:
            nonlocal is_retry
            self._expire(part, outcome)
            if not part.records:
                return  # every record expired: nothing left to send
            if limiter is not None:
                wait = limiter.delay()
                if wait > 0:
                    sleep(wait)
                sent_at = limiter.clock()
            if on_request is not None:
                on_request(is_retry)
            is_retry = True
            try:
                transport.send(key, part.records)
            except Exception as exc:
                # A transport raises SendError; anything else is a local error (reason "error").
                error = (
                    exc if isinstance(exc, SendError) else SendError(type(exc).__name__, str(exc))
                )
                part.last_error = error
                if limiter is not None and error.throttled:
                    limiter.on_throttled(sent_at)
                if isinstance(error, PartialSendError) and self._settle_partial(
                    part, error, outcome
                ):
                    return  # what failed, failed for good: nothing is left to retry
                if error.retryable and self.policy.max_attempts > 1:
                    self._warn_retrying(error)  # with one attempt, nothing is retried
                if error is exc:
                    raise
                raise error from exc

        # The first attempt runs directly: most calls succeed, and tenacity's bookkeeping (and
        # its import, which pulls in asyncio, and tornado where installed) is then never paid.
        # A retryable failure hands over to tenacity, which replays that first outcome as its
        # own attempt 1, so the policy (attempts, waits, deadline) is the same as if tenacity
        # had run from the start.
        started = time.monotonic()
        try:
            attempt()
            return
        except SendError as error:
            if not error.retryable:
                raise
            first_error = error
        retrying(self.policy, started, sleep, _retryable)(replaying(first_error, attempt))
