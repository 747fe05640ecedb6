"""The ledger: what a pipeline was given and what became of it, and :class:`TrackerStats`, its
snapshot.

At every moment ``tracked == delivered + failed + dropped + pending``: the ledger counts the
first four; ``pending`` is what the other parts hold (the buffer and the inbox, batches on the
wire, the spool), which the pipeline adds up under the same lock when it takes a snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from .._failure import FailedEvent, FailureReason

__all__ = ["Ledger", "TrackerStats"]


class Ledger:
    """The counters of one pipeline. Not thread-safe: the pipeline holds its lock around every
    call.

    Attributes:
        tracked: records accepted (those refused at the call, e.g. invalid, are not).
        delivered: records in a call that succeeded.
        dropped: records refused because the queue was full, or replaced by a later record of
            the same id before they were sent (``coalesced``).
        coalesced: of ``dropped``, records replaced by a later one (see ``_intake/coalesce``).
        failed_by_reason: records given up on, by :class:`FailureReason` value.
        requests: calls made, retries and the calls of split batches included.
        retried: calls that were retries.
        recovered: records adopted from a spool an ended process left (counted as tracked).
    """

    __slots__ = (
        "coalesced",
        "delivered",
        "dropped",
        "failed_by_reason",
        "recovered",
        "requests",
        "retried",
        "tracked",
    )

    def __init__(self, recovered: int = 0) -> None:
        self.recovered = recovered
        self.tracked = recovered  # records adopted from an ended process count as tracked
        self.delivered = 0
        self.dropped = 0
        self.coalesced = 0
        self.requests = 0
        self.retried = 0
        self.failed_by_reason: dict[str, int] = {}

    @property
    def failed(self) -> int:
        """Records given up on, all reasons together."""
        return sum(self.failed_by_reason.values())

    def accepted(self, count: int = 1) -> None:
        """``count`` records were accepted."""
        self.tracked += count

    def drop(self, count: int = 1) -> None:
        """``count`` records were refused: the queue was full (reason ``queue_full``)."""
        self.dropped += count

    def coalesce(self) -> None:
        """A held record was replaced by a later one of the same id: dropped, reason
        ``coalesced`` (the later one is pending in its place)."""
        self.dropped += 1
        self.coalesced += 1

    def fail(self, failures: Iterable[FailedEvent]) -> None:
        """Count records given up on, by their reason."""
        by_reason = self.failed_by_reason
        for failure in failures:
            reason = failure.reason.value
            by_reason[reason] = by_reason.get(reason, 0) + 1

    def fail_unread(self, count: int) -> None:
        """``count`` records could not be read back from the spool (reason ``error``)."""
        if count:
            reason = FailureReason.ERROR.value
            self.failed_by_reason[reason] = self.failed_by_reason.get(reason, 0) + count

    def request(self, retry: bool) -> None:
        """Count one call (``retry``: it retries an earlier one)."""
        self.requests += 1
        if retry:
            self.retried += 1

    def balanced(self, pending: int) -> bool:
        """Whether tracked == delivered + failed + dropped + ``pending``."""
        return self.tracked == self.delivered + self.failed + self.dropped + pending

    def stats(
        self, *, pending: int, spooled: int, senders: int, outage: bool = False
    ) -> TrackerStats:
        """A snapshot, with what the other parts hold (see :class:`TrackerStats`); the
        facade adds what belongs to its record kind (``impressions_truncated``)."""
        return TrackerStats(
            tracked=self.tracked,
            delivered=self.delivered,
            failed=self.failed,
            dropped=self.dropped,
            pending=pending,
            coalesced=self.coalesced,
            retried=self.retried,
            requests=self.requests,
            failed_by_reason=dict(self.failed_by_reason),
            spooled=spooled,
            recovered=self.recovered,
            senders=senders,
            outage=outage,
        )


@attrs.frozen
class TrackerStats:
    """A consistent snapshot of a Tracker's counters, all in events unless named otherwise.

    At every moment ``tracked == delivered + failed + dropped + pending``.

    Attributes:
        tracked: events accepted by ``track()`` (those that raised ``InvalidEventError`` are not).
        delivered: events in a PutEvents call that succeeded.
        failed: events given up on (see ``failed_by_reason``).
        dropped: events refused because the queue was full (reason ``queue_full``), and
            records replaced by a later one of the same id before they were sent
            (``coalesced``; items, users and actions only).
        pending: events queued in memory, in a PutEvents call still under way, or in the spool
            on disk (see ``spooled``).
        retried: PutEvents attempts that were retried (calls, not events).
        requests: PutEvents calls made, including retries and the calls of split poison batches.
        failed_by_reason: ``failed`` broken down by :class:`FailureReason` value.
        spooled: of ``pending``, events in the spool on disk (``overflow="spill"``).
        recovered: of ``tracked``, events found in a spool left by an earlier process and
            delivered by this one.
        coalesced: of ``dropped``, records (items, users, actions) that a later record of the
            same id replaced while both waited: only the later one was sent, which is what the
            dataset would have kept. Always 0 for events.
        kinds: the counts of the other record kinds, each a ``TrackerStats`` of its own, by
            kind: ``"items"``, ``"users"``, ``"actions"``, ``"action_interactions"`` (only the
            kinds the Tracker was given a dataset ARN for; ``action_interactions`` once
            ``track_action`` was called). The other fields count events only.
        impressions_truncated: impression lists cut to their first 25 ids (the PutEvents
            maximum) because the Tracker has ``truncate_impressions=True``: events tracked with
            a longer ``impression``, and :meth:`Recommendations.shown` calls with more ids. Not
            part of the identity above (it counts lists, and those events are tracked).
        senders: sender threads allowed to deliver at once now: the Tracker adapts it between 1
            and ``max_workers`` to where a PutEvents call's time goes (see
            ``docs/performance.md``); 0 with ``sync=True`` and once closed. Not an event count.
        outage: whether delivery is in an outage now: several retryable failures in a row
            (5xx answers, connection errors, timeouts) made it send one probe call at a time
            until the service answers (see ``docs/delivery-guarantees.md``). A gauge.
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
    coalesced: int = 0
    kinds: Mapping[str, TrackerStats] = attrs.field(factory=dict)
    senders: int = attrs.field(default=0, eq=False)  # a gauge: snapshots compare counters
    outage: bool = attrs.field(default=False, eq=False)  # a gauge too

    def _repr_html_(self) -> str:
        """An HTML table of the counters (Jupyter shows it for a cell's last value)."""
        from .._html import html_table

        reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.failed_by_reason.items()))
        rows = [
            ("tracked", f"{self.tracked:,}"),
            ("delivered", f"{self.delivered:,}"),
            ("failed", f"{self.failed:,}" + (f" ({reasons})" if reasons else "")),
            (
                "dropped",
                f"{self.dropped:,}"
                + (f" ({self.coalesced:,} coalesced)" if self.coalesced else ""),
            ),
            (
                "pending",
                f"{self.pending:,}" + (f" ({self.spooled:,} spooled)" if self.spooled else ""),
            ),
            ("PutEvents calls", f"{self.requests:,} ({self.retried:,} retried)"),
        ]
        if self.recovered:
            rows.append(("recovered from a spool", f"{self.recovered:,}"))
        if self.outage:
            rows.append(("outage", "yes: one probe call at a time until the service answers"))
        if self.impressions_truncated:
            rows.append(("impressions truncated", f"{self.impressions_truncated:,}"))
        ok = not (self.failed or self.dropped - self.coalesced)
        return html_table(rows, caption="TrackerStats", ok=ok)
