"""What became of a record that was not delivered: ``FailureReason`` and ``FailedEvent``.

Every part of the record's path speaks this vocabulary (intake drops, delivery fails, outcomes
report), so it lives in a leaf that imports nothing of ours.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

__all__ = ["FailedEvent", "FailureReason"]


class FailureReason(str, enum.Enum):
    """Why an event was not delivered. The value is a stable lower-case string."""

    #: PutEvents answered ``InvalidInputException`` for this event alone (after its batch was
    #: split to isolate it). Resending it unchanged fails again.
    INVALID = "invalid"
    #: PutEvents refused the call for a reason retries cannot fix: ``ResourceNotFoundException``
    #: (unknown tracking id), access denied, an unrecognised client error.
    REJECTED = "rejected"
    #: A retryable error (throttling, 5xx, connection error or timeout) lasted past
    #: ``max_attempts`` or ``retry_deadline``.
    RETRIES_EXHAUSTED = "retries_exhausted"
    #: The queue held ``max_queue_size`` events when ``track()`` was called: the new event was
    #: dropped (counted in ``TrackerStats.dropped``).
    QUEUE_FULL = "queue_full"
    #: ``close()`` (or the exit flush) ran out of time before the event could be delivered,
    #: and no spool was configured to keep it.
    CLOSED = "closed"
    #: The event was still undelivered ``max_event_age`` seconds after it was tracked.
    EXPIRED = "expired"
    #: Anything else raised while sending, e.g. missing credentials (``NoCredentialsError``).
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class FailedEvent:
    """An event (or any record) that was not delivered, and why.

    Attributes:
        event: the record, exactly as it would have been sent: an
            :class:`~personalize_tracker.Event` for PutEvents (typed ``Any``, since other record
            kinds go through the same pipeline).
        reason: the :class:`FailureReason`.
        error_code: the AWS error code (``"InvalidInputException"``, ``"ThrottlingException"``…)
            or the botocore exception name for a connection error; ``None`` when no call was made.
        message: the service's (or botocore's) message, or a description of the local cause.
    """

    event: Any
    reason: FailureReason
    error_code: str | None = None
    message: str | None = None

    @property
    def user_id(self) -> str | None:
        """The ``userId`` the event was tracked with (``None`` for a record without one)."""
        user_id: Any = getattr(self.event, "user_id", None)
        return user_id if isinstance(user_id, str) else None
