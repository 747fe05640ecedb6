"""Records of what became of events: ``FailedEvent``, ``FailureReason``, ``TrackerStats``."""

from __future__ import annotations

import enum

import attrs

from ._event import Event

__all__ = ["FailedEvent", "FailureReason", "TrackerStats"]


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
    """An event that was not delivered, and why.

    Attributes:
        event: the event, exactly as it would have been sent.
        user_id: the ``userId`` of its PutEvents call (same as ``event.user_id``).
        reason: the :class:`FailureReason`.
        error_code: the AWS error code (``"InvalidInputException"``, ``"ThrottlingException"``…)
            or the botocore exception name for a connection error; ``None`` when no call was made.
        message: the service's (or botocore's) message, or a description of the local cause.
    """

    event: Event
    reason: FailureReason
    error_code: str | None = None
    message: str | None = None

    @property
    def user_id(self) -> str | None:
        """The ``userId`` the event was tracked with."""
        return self.event.user_id


@attrs.frozen
class TrackerStats:
    """A consistent snapshot of a Tracker's counters, all in events unless named otherwise.

    At every moment ``tracked == delivered + failed + dropped + pending``.

    Attributes:
        tracked: events accepted by ``track()`` (those that raised ``InvalidEventError`` are not).
        delivered: events in a PutEvents call that succeeded.
        failed: events given up on (see ``failed_by_reason``).
        dropped: events refused because the queue was full (reason ``queue_full``).
        pending: events queued in memory, in a PutEvents call still under way, or in the spool
            on disk (see ``spooled``).
        retried: PutEvents attempts that were retried (calls, not events).
        requests: PutEvents calls made, including retries and the calls of split poison batches.
        failed_by_reason: ``failed`` broken down by :class:`FailureReason` value.
        spooled: of ``pending``, events in the spool on disk (``overflow="spill"``).
        recovered: of ``tracked``, events found in a spool left by an earlier process and
            delivered by this one.
        impressions_truncated: impression lists cut to their first 25 ids (the PutEvents
            maximum) because the Tracker has ``truncate_impressions=True``: events tracked with
            a longer ``impression``, and :meth:`Recommendations.shown` calls with more ids. Not
            part of the identity above (it counts lists, and those events are tracked).
        senders: sender threads allowed to deliver at once now: the Tracker adapts it between 1
            and ``max_workers`` to where a PutEvents call's time goes (see
            ``docs/performance.md``); 0 with ``sync=True``. Not an event count.
    """

    tracked: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    pending: int = 0
    retried: int = 0
    requests: int = 0
    failed_by_reason: dict[str, int] = attrs.field(factory=dict)
    spooled: int = 0
    recovered: int = 0
    impressions_truncated: int = 0
    senders: int = attrs.field(default=0, eq=False)  # a gauge: snapshots compare counters

    def _repr_html_(self) -> str:
        """An HTML table of the counters (Jupyter shows it for a cell's last value)."""
        from ._html import html_table

        reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.failed_by_reason.items()))
        rows = [
            ("tracked", f"{self.tracked:,}"),
            ("delivered", f"{self.delivered:,}"),
            ("failed", f"{self.failed:,}" + (f" ({reasons})" if reasons else "")),
            ("dropped", f"{self.dropped:,}"),
            (
                "pending",
                f"{self.pending:,}" + (f" ({self.spooled:,} spooled)" if self.spooled else ""),
            ),
            ("PutEvents calls", f"{self.requests:,} ({self.retried:,} retried)"),
        ]
        if self.recovered:
            rows.append(("recovered from a spool", f"{self.recovered:,}"))
        if self.impressions_truncated:
            rows.append(("impressions truncated", f"{self.impressions_truncated:,}"))
        ok = not (self.failed or self.dropped)
        return html_table(rows, caption="TrackerStats", ok=ok)
