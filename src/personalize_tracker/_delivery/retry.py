"""The retry policy of one batch: tenacity's ``Retrying`` with full-jitter exponential backoff,
an attempt cap and a deadline, sleeping through a wait the caller can interrupt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from tenacity import RetryCallState

__all__ = ["RetryPolicy", "replaying", "retrying"]


@attrs.frozen
class RetryPolicy:
    """The tenacity retry policy for one call, and the record age limit.

    Attributes:
        max_attempts: calls at most, the first included (>= 1).
        max_backoff: cap in seconds of one wait between attempts.
        deadline: seconds after the first attempt past which no new attempt starts.
        base_backoff: seconds; attempt n waits a uniform random time in
            [0, min(max_backoff, base_backoff * 2**n)] ("full jitter").
        max_event_age: seconds after it was tracked past which a record is not sent (it fails
            with reason ``expired``), or None for no limit.
    """

    max_attempts: int = 8
    max_backoff: float = 30.0
    deadline: float = 120.0
    base_backoff: float = 0.1
    max_event_age: float | None = None


def replaying(error: BaseException, attempt: Callable[[], None]) -> Callable[[], None]:
    """``attempt``, except that its first call raises ``error`` (the outcome of attempt 1, made
    before tenacity was needed)."""
    pending: list[BaseException] = [error]

    def call() -> None:
        if pending:
            raise pending.pop()
        attempt()

    return call


def retrying(
    policy: RetryPolicy,
    started: float,
    sleep: Callable[[float], None],
    retryable: Callable[[BaseException], bool],
    counted: Callable[[], int] | None = None,
    waits: Callable[[], bool] | None = None,
) -> Any:
    """The tenacity ``Retrying`` for one call whose first attempt started at monotonic
    ``started`` (the deadline counts from there, as tenacity's own ``stop_before_delay``).

    Args:
        policy: attempts, backoff and deadline.
        started: monotonic time of the first attempt.
        sleep: waits between attempts (it may raise to stop waiting).
        retryable: whether an exception raised by an attempt is worth another.
        counted: the attempts that count against ``max_attempts`` so far (default: every
            attempt tenacity made). Attempts made as an outage's probe do not count: during an
            outage, time bounds a call, not attempts spent against a service that is down.
        waits: whether ``sleep`` will wait out the next backoff (default: yes); when not, the
            deadline check leaves that backoff out.
    """
    from tenacity import Retrying, retry_if_exception, wait_random_exponential
    from tenacity.stop import stop_base

    class stop_before_deadline(stop_base):
        """``stop_before_delay(policy.deadline)`` with the clock started at ``started``."""

        def __call__(self, retry_state: RetryCallState) -> bool:
            now = retry_state.outcome_timestamp
            assert now is not None
            upcoming = retry_state.upcoming_sleep or 0.0
            if waits is not None and not waits():
                upcoming = 0.0  # the wait is skipped (an outage gates the attempts instead)
            return now - started + upcoming >= policy.deadline

    class stop_after_counted(stop_base):
        """``stop_after_attempt(policy.max_attempts)``, counting only the counted attempts."""

        def __call__(self, retry_state: RetryCallState) -> bool:
            made = retry_state.attempt_number if counted is None else counted()
            return made >= policy.max_attempts

    return Retrying(
        stop=stop_after_counted() | stop_before_deadline(),
        wait=wait_random_exponential(multiplier=policy.base_backoff, max=policy.max_backoff),
        retry=retry_if_exception(retryable),
        sleep=sleep,
        reraise=True,
    )
