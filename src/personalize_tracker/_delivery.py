"""Delivery of one batch: the PutEvents call, tenacity retries, and splitting of poison batches.

The sender is stateless apart from its configuration and a stop signal, so any number of threads
can share one instance (and the one boto3 client inside it, which is thread-safe).
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import boto3
import botocore.config
import botocore.exceptions
import botocore.serialize
import botocore.utils

if TYPE_CHECKING:
    from tenacity import RetryCallState

from ._event import Event
from ._ratelimit import AdaptiveRateLimiter
from ._records import FailedEvent, FailureReason

__all__ = ["DeliveryOutcome", "RetryPolicy", "Sender", "build_client", "classify_error"]

# Error codes retried whatever their HTTP status.
_THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
# Error codes never retried, whatever their HTTP status.
_FINAL_CODES = frozenset(
    {
        "InvalidInputException",
        "ResourceNotFoundException",
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "ResourceInUseException",
    }
)
_INVALID = "InvalidInputException"
# Seconds between two WARNING lines about retries (see Sender._warn_retrying).
_RETRY_WARNING_SECONDS = 30.0

logger = logging.getLogger("personalize_tracker")


@attrs.frozen
class ErrorInfo:
    """What a send error means for delivery."""

    retryable: bool
    code: str
    message: str


def classify_error(exc: BaseException) -> ErrorInfo:
    """Classify an exception raised by ``put_events``.

    Retryable: throttling codes (``ThrottlingException``, ``TooManyRequestsException``, …), HTTP
    429 and 5xx answers, and botocore connection errors and timeouts. Not retryable:
    ``InvalidInputException``, ``ResourceNotFoundException``, access-denied and credential errors,
    and everything else.
    """
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        retryable = code not in _FINAL_CODES and (
            code in _THROTTLING_CODES or status == 429 or status >= 500
        )
        return ErrorInfo(retryable, code, message)
    code = type(exc).__name__
    retryable = isinstance(
        exc, (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)
    )
    return ErrorInfo(retryable, code, str(exc))


@attrs.frozen
class RetryPolicy:
    """The tenacity retry policy for one PutEvents call, and the event age limit.

    Attributes:
        max_attempts: calls at most, the first included (>= 1).
        max_backoff: cap in seconds of one wait between attempts.
        deadline: seconds after the first attempt past which no new attempt starts.
        base_backoff: seconds; attempt n waits a uniform random time in
            [0, min(max_backoff, base_backoff * 2**n)] ("full jitter").
        max_event_age: seconds after it was tracked past which an event is not sent (it fails
            with reason ``expired``), or None for no limit.
    """

    max_attempts: int = 8
    max_backoff: float = 30.0
    deadline: float = 120.0
    base_backoff: float = 0.1
    max_event_age: float | None = None


@attrs.define
class DeliveryOutcome:
    """What became of one batch: ``delivered`` events (and which), and the ``failed`` ones."""

    delivered: int = 0
    failed: list[FailedEvent] = attrs.field(factory=list)
    delivered_events: list[Event] = attrs.field(factory=list)
    #: Seconds spent waiting on purpose: for the rate limit, and between retries.
    waited: float = 0.0


class Aborted(Exception):
    """Raised inside a retry wait when the Tracker stops waiting (close or exit timeout)."""


class _Part:
    """Events sent together in one PutEvents call (a batch, or a half of a rejected one)."""

    __slots__ = ("events", "last_error", "times")

    def __init__(self, events: list[Event], times: list[float]) -> None:
        self.events = events
        self.times = times  # monotonic time each was tracked, or [] when unknown
        self.last_error: ErrorInfo | None = None  # of the latest failed attempt

    def split(self) -> tuple[_Part, _Part]:
        half = len(self.events) // 2
        return (
            _Part(self.events[:half], self.times[:half]),
            _Part(self.events[half:], self.times[half:]),
        )


class Sender:
    """Delivers batches of one (user_id, session_id) group through PutEvents.

    Args:
        client: a boto3 ``personalize-events`` client (shared by all sender threads).
        tracking_id: the event tracker's ``trackingId``.
        policy: the retry policy.
        on_request: called (with no lock held) before each PutEvents call, with
            ``retry=True`` when the call is a retry; it keeps the Tracker's live counters.
        limiter: the request-rate limit shared by all sender threads, or None.
    """

    def __init__(
        self,
        client: Any,
        tracking_id: str,
        policy: RetryPolicy,
        on_request: Callable[[bool], None] | None = None,
        limiter: AdaptiveRateLimiter | None = None,
    ) -> None:
        self.client = client
        self.tracking_id = tracking_id
        self.policy = policy
        self.limiter = limiter
        self._on_request = on_request
        self._stop = threading.Event()
        self._next_retry_warning = 0.0
        self._stop_at: float | None = None  # monotonic time after which waits end

    # -- stopping --------------------------------------------------------------------------

    def stop_waiting_at(self, when: float | None) -> None:
        """Make retry waits end (failing their batch with reason ``closed``) at monotonic ``when``.

        ``None`` clears the limit. A time already past interrupts waits under way at once.
        """
        self._stop_at = when
        if when is not None and when <= time.monotonic():
            self._stop.set()
        else:
            self._stop.clear()

    def _warn_retrying(self, info: ErrorInfo) -> None:
        """Log a retryable failure at WARNING, once per _RETRY_WARNING_SECONDS at most: an outage
        or throttling shows in the logs while it lasts, not only when events fail."""
        now = time.monotonic()
        if now < self._next_retry_warning:
            return
        self._next_retry_warning = now + _RETRY_WARNING_SECONDS
        logger.warning(
            "personalize-tracker: PutEvents failed (%s: %s); retrying with backoff",
            info.code,
            info.message,
        )

    def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``; raise :class:`Aborted` if the Tracker stops waiting first."""
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

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        user_id: str | None,
        session_id: str,
        events: list[Event],
        tracked_at: list[float] | None = None,
        outcome: DeliveryOutcome | None = None,
    ) -> DeliveryOutcome:
        """Deliver ``events`` (1-10, one user and session), splitting a batch the service rejects.

        Args:
            user_id: the call's ``userId`` or None.
            session_id: the call's ``sessionId``.
            events: the events, in the order they were tracked.
            tracked_at: the monotonic time each event was tracked (needed for
                ``max_event_age``), or None.
            outcome: the record to fill in (default: a new one). A caller that passes its own
                knows what was settled even if a ``BaseException`` (Ctrl-C) cuts the send short.

        On ``InvalidInputException`` a batch of more than one event is halved and each half is
        sent again, until the offending event stands alone: only it fails (reason ``invalid``),
        the others are delivered. Before each attempt, events older than ``max_event_age`` are
        taken out (reason ``expired``). Never raises: every event ends delivered or in ``failed``.
        """
        if outcome is None:
            outcome = DeliveryOutcome()
        stack = [_Part(events, tracked_at or [])]
        while stack:
            part = stack.pop()
            try:
                self._put_with_retries(user_id, session_id, part, outcome)
            except Aborted:
                last = part.last_error
                message = "the tracker stopped waiting" + (
                    "" if last is None else f" while retrying ({last.code}: {last.message})"
                )
                outcome.failed.extend(
                    FailedEvent(
                        e, FailureReason.CLOSED, None if last is None else last.code, message
                    )
                    for e in part.events
                )
            except Exception as exc:
                info = classify_error(exc)
                if info.code == _INVALID and len(part.events) > 1:
                    first, second = part.split()
                    stack.append(second)
                    stack.append(first)  # popped first: order kept
                    continue
                if info.code == _INVALID:
                    reason = FailureReason.INVALID
                elif info.retryable:
                    reason = FailureReason.RETRIES_EXHAUSTED
                elif isinstance(exc, botocore.exceptions.ClientError):
                    reason = FailureReason.REJECTED
                else:
                    reason = FailureReason.ERROR
                outcome.failed.extend(
                    FailedEvent(e, reason, info.code, info.message) for e in part.events
                )
            else:
                outcome.delivered += len(part.events)
                outcome.delivered_events.extend(part.events)
        return outcome

    def _expire(self, part: _Part, outcome: DeliveryOutcome) -> None:
        """Move events older than max_event_age out of ``part`` into ``outcome.failed``."""
        max_age = self.policy.max_event_age
        if max_age is None or not part.times:
            return
        oldest_allowed = time.monotonic() - max_age
        if min(part.times) >= oldest_allowed:
            return
        keep_events: list[Event] = []
        keep_times: list[float] = []
        for event, tracked in zip(part.events, part.times, strict=True):
            if tracked < oldest_allowed:
                outcome.failed.append(
                    FailedEvent(
                        event,
                        FailureReason.EXPIRED,
                        None,
                        f"still undelivered {max_age:g} s after it was tracked (max_event_age)",
                    )
                )
            else:
                keep_events.append(event)
                keep_times.append(tracked)
        part.events, part.times = keep_events, keep_times

    def _put_with_retries(
        self, user_id: str | None, session_id: str, part: _Part, outcome: DeliveryOutcome
    ) -> None:
        """Send ``part`` with retries; on return every event left in it was delivered."""
        params: dict[str, Any] = {"trackingId": self.tracking_id, "sessionId": session_id}
        if user_id is not None:
            params["userId"] = user_id
        policy = self.policy
        on_request = self._on_request
        limiter = self.limiter
        is_retry = False
        sent: list[Event] | None = None

        def sleep(seconds: float) -> None:
            outcome.waited += seconds
            self._sleep(seconds)

        def attempt() -> None:
            nonlocal is_retry, sent
            self._expire(part, outcome)
            if not part.events:
                return  # every event expired: nothing left to send
            if sent is not part.events:
                sent = part.events
                params["eventList"] = [event.to_put_events() for event in sent]
            if limiter is not None:
                wait = limiter.delay()
                if wait > 0:
                    sleep(wait)
                sent_at = limiter.clock()
            if on_request is not None:
                on_request(is_retry)
            is_retry = True
            try:
                self.client.put_events(**params)
            except Exception as exc:
                info = part.last_error = classify_error(exc)
                if (
                    limiter is not None
                    and isinstance(exc, botocore.exceptions.ClientError)
                    and _is_throttling(exc)
                ):
                    limiter.on_throttled(sent_at)
                if info.retryable:
                    self._warn_retrying(info)
                raise

        # The first attempt runs directly: most calls succeed, and tenacity's bookkeeping (and
        # its import, which pulls in asyncio, and tornado where installed) is then never paid.
        # A retryable failure hands over to tenacity, which replays that first outcome as its
        # own attempt 1, so the policy (attempts, waits, deadline) is the same as if tenacity
        # had run from the start.
        started = time.monotonic()
        try:
            attempt()
            return
        except BaseException as exc:  # as tenacity would: its predicate decides
            if not classify_error(exc).retryable:
                raise
            first_error = exc
        _retrying(policy, started, sleep)(_replaying(first_error, attempt))


def _replaying(error: BaseException, attempt: Callable[[], None]) -> Callable[[], None]:
    """``attempt``, except that its first call raises ``error`` (the outcome of attempt 1)."""
    pending: list[BaseException] = [error]

    def call() -> None:
        if pending:
            raise pending.pop()
        attempt()

    return call


def _retrying(policy: RetryPolicy, started: float, sleep: Callable[[float], None]) -> Any:
    """The tenacity ``Retrying`` for one call whose first attempt started at monotonic
    ``started`` (the deadline counts from there, as tenacity's own ``stop_before_delay``)."""
    from tenacity import (
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        wait_random_exponential,
    )
    from tenacity.stop import stop_base

    class stop_before_deadline(stop_base):
        """``stop_before_delay(policy.deadline)`` with the clock started at ``started``."""

        def __call__(self, retry_state: RetryCallState) -> bool:
            now = retry_state.outcome_timestamp
            assert now is not None
            return now - started + (retry_state.upcoming_sleep or 0.0) >= policy.deadline

    return Retrying(
        stop=stop_after_attempt(policy.max_attempts) | stop_before_deadline(),
        wait=wait_random_exponential(multiplier=policy.base_backoff, max=policy.max_backoff),
        retry=retry_if_exception(lambda exc: classify_error(exc).retryable),
        sleep=sleep,
        reraise=True,
    )


def _is_throttling(exc: botocore.exceptions.ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in _THROTTLING_CODES or status == 429


def _millisecond_sent_at(serializer_kwargs: dict[str, Any], **_: Any) -> None:
    """``creating-serializer`` handler: serialise timestamps (``sentAt``) with milliseconds.

    botocore 1.40.76 added the ``creating-serializer`` event and a handler doing the same
    (``botocore.handlers.enable_millisecond_timestamp_precision``); botocore 1.44 dropped that
    handler but kept the event and the serializer option, so we set the option ourselves.
    """
    serializer_kwargs["timestamp_precision"] = getattr(
        botocore.serialize, "TIMESTAMP_PRECISION_MILLISECOND", "millisecond"
    )


# botocore's own UTC tzinfo (dateutil's tzutc singleton): a datetime in it converts to it as is.
_UTC = botocore.utils.parse_to_aware_datetime("1970-01-01T00:00:00Z").tzinfo
_from_timestamp = _dt.datetime.fromtimestamp


def _aware(entry: Any) -> Any:
    """``entry`` with a numeric ``sentAt`` as an aware UTC datetime (same microseconds)."""
    if type(entry) is dict:
        sent_at = entry.get("sentAt")
        if type(sent_at) is float or type(sent_at) is int:
            try:
                return {**entry, "sentAt": _from_timestamp(sent_at, _UTC)}
            except (ValueError, OverflowError, OSError):
                pass  # out of range: left to botocore, which reports it as before
    return entry


def _aware_sent_at(params: dict[str, Any], **_: Any) -> None:
    """``before-parameter-build`` handler of PutEvents: ``sentAt`` as an aware UTC datetime.

    botocore turns a number into a datetime through ``parse_to_aware_datetime``, which builds a
    dateutil ``tzlocal()`` and converts through it: ~10 us per event, about a tenth of a
    PutEvents call's CPU. A datetime already in its UTC passes straight through (~2 us) and is
    serialised to the same milliseconds. The caller's dicts are copied, never changed.
    """
    events = params.get("eventList")
    if type(events) is list:
        params["eventList"] = [_aware(entry) for entry in events]


def build_client(
    *,
    session: boto3.Session | None,
    region_name: str | None,
    endpoint_url: str | None,
    max_workers: int,
) -> Any:
    """Build the ``personalize-events`` client the Tracker uses when not given one.

    - botocore's own retries are set to a single attempt: tenacity retries instead, so the two
      layers do not multiply;
    - the connection pool holds ``max_workers`` connections, one per sender thread;
    - ``sentAt`` is serialised with millisecond precision (botocore's default is whole seconds);
    - botocore's parameter validation is off: ``track()`` already checked every field against the
      same service model, including the maxima botocore does not check;
    - a numeric ``sentAt`` reaches botocore's serializer as an aware UTC datetime (the same
      milliseconds on the wire, a quarter of the CPU).
    """
    session = session if session is not None else boto3.Session()
    session.events.register(
        "creating-serializer.personalize-events",
        _millisecond_sent_at,
        unique_id="personalize_tracker.millisecond_sent_at",
    )
    config = botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(10, max_workers),
        parameter_validation=False,
        connect_timeout=5,
        read_timeout=15,
        tcp_keepalive=True,
        user_agent_extra="personalize-tracker",
    )
    try:
        client = session.client(
            "personalize-events", region_name=region_name, endpoint_url=endpoint_url, config=config
        )
    except botocore.exceptions.NoRegionError:
        raise ValueError(
            "no AWS region for the personalize-events client: pass region_name= (or the "
            "session's), or set AWS_REGION / AWS_DEFAULT_REGION, or a region in ~/.aws/config"
        ) from None
    client.meta.events.register(
        "before-parameter-build.personalize-events.PutEvents",
        _aware_sent_at,
        unique_id="personalize_tracker.aware_sent_at",
    )
    return client
