"""The attempts at delivering one part of a batch: tenacity retries, the outage's gate, a
caller's deadline, the age limit and partial failures; and the outcome they fill in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

import attrs

from .._errors import PartialSendError, SendError
from .._failure import FailedEvent, FailureReason
from ..typing import Transport
from .health import ServiceHealth, Unavailable
from .ratelimit import AdaptiveRateLimiter
from .retry import RetryPolicy, replaying, retrying

__all__ = [
    "Aborted",
    "Attempts",
    "Deferred",
    "DeliveryOutcome",
    "Part",
    "SenderLike",
    "expire",
    "reason_of",
    "settle_partial",
]

R = TypeVar("R")
K = TypeVar("K")


@attrs.define
class DeliveryOutcome(Generic[R]):
    """What became of one batch: ``delivered`` records (and which), and the ``failed`` ones."""

    delivered: int = 0
    failed: list[FailedEvent] = attrs.field(factory=list)
    delivered_events: list[R] = attrs.field(factory=list)
    #: Seconds spent waiting on purpose: for the rate limit, between retries, for an outage.
    waited: float = 0.0
    #: Records neither delivered nor failed when the caller's deadline came (they stay
    #: pending: the caller queues them again, or keeps them in the spool), and when each was
    #: tracked (monotonic; empty when unknown).
    deferred: list[R] = attrs.field(factory=list)
    deferred_times: list[float] = attrs.field(factory=list)

    def unsettled(self, records: Sequence[R]) -> list[R]:
        """Those of ``records`` neither delivered, failed nor deferred yet (after an
        interruption)."""
        settled = {id(r) for r in self.delivered_events}
        settled.update(id(f.event) for f in self.failed)
        settled.update(id(r) for r in self.deferred)
        return [r for r in records if id(r) not in settled]


class Aborted(Exception):
    """Raised inside a retry wait when the pipeline stops waiting (close or exit timeout)."""


class Deferred(Exception):
    """The caller's deadline came (or its one attempt failed and may be retried later): the
    part is neither delivered nor failed, and stays pending."""


class Part(Generic[R]):
    """Records sent together in one call (a batch, or a half of a rejected one)."""

    __slots__ = ("counted", "last_error", "records", "times")

    def __init__(self, records: list[R], times: list[float]) -> None:
        self.records = records
        self.times = times  # monotonic time each was tracked, or [] when unknown
        self.last_error: SendError | None = None  # of the latest failed attempt
        self.counted = 0  # attempts made outside an outage (the ones max_attempts counts)

    def split(self) -> tuple[Part[R], Part[R]]:
        half = len(self.records) // 2
        return (
            Part(self.records[:half], self.times[:half]),
            Part(self.records[half:], self.times[half:]),
        )


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, SendError) and exc.retryable


def reason_of(error: SendError) -> FailureReason:
    if error.invalid:
        return FailureReason.INVALID
    if error.retryable:
        return FailureReason.RETRIES_EXHAUSTED
    if error.rejected:
        return FailureReason.REJECTED
    return FailureReason.ERROR


def expire(max_age: float | None, part: Part[R], outcome: DeliveryOutcome[R]) -> None:
    """Move records older than max_event_age out of ``part`` into ``outcome.failed``."""
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


def settle_partial(part: Part[R], error: PartialSendError, outcome: DeliveryOutcome[R]) -> bool:
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
            outcome.failed.append(FailedEvent(record, reason_of(own), own.code, own.message))
    part.records, part.times = retry, times
    return not retry


class SenderLike(Protocol[R, K]):
    """What one part's attempts need of the sender that owns them (see ``BatchSender``)."""

    transport: Transport[R, K]
    policy: RetryPolicy
    limiter: AdaptiveRateLimiter | None
    health: ServiceHealth
    name: str

    def count_request(self, retry: bool) -> None: ...

    def stopping_at(self) -> float | None: ...

    def wait(self, seconds: float) -> None: ...

    def warn_retrying(self, error: SendError) -> None: ...


class Attempts(Generic[R, K]):
    """The attempts at sending one part: tenacity retries, the outage's gate, the caller's
    deadline. ``run()`` returns once every record left in the part was delivered.

    Args:
        sender: the sender (configuration, stop time, waits, counters).
        key: the group's key, handed to the transport.
        part: the records (records that expire or fail for good leave it).
        outcome: where expired and finally failed records, and waits, are recorded.
        deadline: monotonic time past which no call is waited for and no wait runs, or None.
        retry_waits: False: one attempt, and no wait for an outage's probe slot.
    """

    def __init__(
        self,
        sender: SenderLike[R, K],
        key: K,
        part: Part[R],
        outcome: DeliveryOutcome[R],
        deadline: float | None,
        retry_waits: bool,
    ) -> None:
        self.sender = sender
        self.key = key
        self.part = part
        self.outcome = outcome
        self.deadline = deadline
        self.retry_waits = retry_waits
        self.started = time.monotonic()
        self.is_retry = False
        self.sent_at = 0.0  # the rate limiter's clock at the latest call

    def run(self) -> None:
        """Send the part with retries.

        Raises:
            SendError: the last attempt's error, when retrying is over.
            Aborted: the pipeline stopped waiting.
            Deferred: the deadline came first, or (``retry_waits`` False) an attempt failed
                and may be retried later.
        """
        # The first attempt runs directly: most calls succeed, and tenacity's bookkeeping (and
        # its import, which pulls in asyncio, and tornado where installed) is then never paid.
        # A retryable failure hands over to tenacity, which replays that first outcome as its
        # own attempt 1, so the policy (attempts, waits, deadline) is the same as if tenacity
        # had run from the start. Attempts made as an outage's probe are not counted.
        try:
            self.attempt()
            return
        except SendError as error:
            if not error.retryable:
                raise
            first_error = error
        part, health = self.part, self.sender.health
        # During an outage no attempt count ends the retries: only the deadlines do.
        retrying(
            self.sender.policy,
            self.started,
            self.sleep,
            _retryable,
            lambda: 0 if health.outage else part.counted,
            lambda: not health.outage,
        )(replaying(first_error, self.attempt))

    def sleep(self, seconds: float) -> None:
        """Wait between attempts (or for the rate limit); the outage's gate replaces it."""
        if self.sender.health.outage:
            return  # the outage's gate (in attempt) does the waiting
        deadline = self.deadline
        if deadline is not None and time.monotonic() + seconds >= deadline:
            raise Deferred
        self.outcome.waited += seconds
        self.sender.wait(seconds)

    def gate(self) -> bool | None:
        """Wait for the outage's probe slot (if any); whether this attempt is the probe, or
        None when every record expired (``max_event_age``) while it waited."""
        sender, deadline, part = self.sender, self.deadline, self.part
        until = self.started + sender.policy.deadline
        if deadline is not None:
            until = min(until, deadline)
        max_age = sender.policy.max_event_age
        if max_age is not None and part.times:
            until = min(until, min(part.times) + max_age)  # the oldest record's age limit
        try:
            probe, waited = sender.health.enter(until, sender.stopping_at, block=self.retry_waits)
        except Unavailable:
            now = time.monotonic()
            stop_at = sender.stopping_at()
            if stop_at is not None and now >= stop_at:
                raise Aborted from None
            if not self.retry_waits or (deadline is not None and now >= deadline):
                raise Deferred from None
            left = len(part.records)
            expire(max_age, part, self.outcome)
            if not part.records:
                return None
            if len(part.records) < left:
                return self.gate()  # the oldest expired: the others wait on
            raise part.last_error or SendError(
                "ServiceUnavailable",
                f"{sender.name} was in an outage for retry_deadline={sender.policy.deadline:g} s",
                retryable=True,
            ) from None
        self.outcome.waited += waited
        expire(max_age, part, self.outcome)  # records that aged out while it waited
        if not part.records:
            sender.health.abandoned(probe)
            return None
        return probe

    def attempt(self) -> None:
        """One attempt (tenacity's unit of work)."""
        sender, part, outcome = self.sender, self.part, self.outcome
        expire(sender.policy.max_event_age, part, outcome)
        if not part.records:
            return  # every record expired: nothing left to send
        probe = self.gate()
        if probe is None:
            return  # every record expired while it waited for the outage to end
        health = sender.health
        settled = False  # the outage was told what became of this attempt
        try:
            self._call(probe)
            settled = True
        except SendError as error:
            settled = True
            self._after_failure(error)
        finally:
            if not settled:  # Deferred, Aborted, Ctrl-C: the probe slot must not stay taken
                health.abandoned(probe)

    def _call(self, probe: bool) -> None:
        """The call itself; tells the outage what became of it (unless it was abandoned).

        Raises:
            SendError: the call failed (the outage was told).
        """
        sender, part = self.sender, self.part
        limiter = sender.limiter
        if limiter is not None:
            wait = limiter.delay()
            if wait > 0:
                self.sleep(wait)
            self.sent_at = limiter.clock()
        sender.count_request(self.is_retry)
        self.is_retry = True
        if not probe:
            part.counted += 1
        transport, key, deadline, health = sender.transport, self.key, self.deadline, sender.health
        try:
            if deadline is None:
                transport.send(key, part.records)
            else:
                _call_within(deadline, lambda: transport.send(key, part.records))
        except Deferred:
            raise
        except Exception as exc:
            # A transport raises SendError; anything else is a local error (reason "error").
            error = exc if isinstance(exc, SendError) else SendError(type(exc).__name__, str(exc))
            part.last_error = error
            if error.retryable and not error.throttled:
                health.failed(probe, f"{error.code}: {error.message}")
            elif error.throttled or error.rejected or error.code == "InvalidInputException":
                health.answered(probe)  # an answer (throttling included): the service is up
            else:
                health.abandoned(probe)  # a local error: says nothing of the service
            if error is exc:
                raise
            raise error from exc
        health.answered(probe)

    def _after_failure(self, error: SendError) -> None:
        """A failed call: settle a partial failure, and raise what decides the retry."""
        sender, part = self.sender, self.part
        if sender.limiter is not None and error.throttled:
            sender.limiter.on_throttled(self.sent_at)
        if isinstance(error, PartialSendError) and settle_partial(part, error, self.outcome):
            return  # what failed, failed for good: nothing is left to retry
        if error.retryable:
            if not self.retry_waits:
                raise Deferred from error
            sender.warn_retrying(error)
        raise error


def _call_within(deadline: float, call: Callable[[], None]) -> None:
    """Run ``call`` on a helper thread and wait for it until monotonic ``deadline``.

    Raises:
        Deferred: the call had not ended by then (it is abandoned; its thread is a daemon).
        BaseException: what ``call`` raised.

    Where no thread can start (at interpreter shutdown, Python 3.12+), the call runs on this
    thread, bounded by the client's own connect and read timeouts.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Deferred
    done = threading.Event()
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the waiting caller
            raised.append(exc)
        finally:
            done.set()

    helper = threading.Thread(target=run, name="personalize-tracker-call", daemon=True)
    try:
        helper.start()
    except RuntimeError:  # "can't create new thread at interpreter shutdown"
        call()
        return
    if not done.wait(remaining):
        raise Deferred
    if raised:
        raise raised[0]
