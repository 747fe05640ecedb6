"""What ``replay()`` returns: :class:`ReplaySummary`, with its :class:`BadRow` records and its
timeline of :class:`ReplaySample` counters.

A summary prints as text, renders as an HTML table in Jupyter and plots its timeline with
matplotlib (imported only by :meth:`ReplaySummary.plot`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ..._html import html_table
from ..extras import missing_extra

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BadRow", "ReplaySample", "ReplaySummary"]


@attrs.frozen
class BadRow:
    """A row that could not be tracked. It is skipped; the replay goes on.

    Attributes:
        row: 0-based position of the row in the input (``df.iloc[row]``, ``rows[row]``).
        message: what is wrong, naming the field (and column) and the rule.
        line: 1-based line number in the file, for rows read from a file; else ``None``.
    """

    row: int
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else f"row {self.row}"
        return f"{where}: {self.message}"


@attrs.frozen
class ReplaySample:
    """The replay's counters at one moment: cumulative counts since the replay started.

    Attributes:
        seconds: seconds since the replay started (wall clock, monotonic).
        tracked: events tracked.
        delivered: events delivered.
        retried: PutEvents calls that were retries.
        failed: events that failed (any reason).
        dropped: events dropped (queue full).
    """

    seconds: float
    tracked: int
    delivered: int
    retried: int
    failed: int
    dropped: int


@attrs.frozen(repr=False)
class ReplaySummary:
    """What a replay did. Counts are events (rows) unless named otherwise.

    The counters are the Tracker's, taken as differences between its stats before and after the
    replay: events tracked meanwhile by other threads on the same Tracker are included.

    Attributes:
        rows_read: rows read from the input (bad rows included).
        tracked: events tracked (rows that passed every check).
        delivered: events delivered by PutEvents.
        failed: events given up on (see ``failed_by_reason``).
        failed_by_reason: ``failed`` by :class:`~personalize_tracker.FailureReason` value.
        dropped: events dropped because the queue was full (the replay paces itself so that
            this stays 0 unless other threads fill the queue too).
        pending: events still pending when the replay returned (0 unless ``flush_timeout``
            passed).
        bad_rows: the first 1,000 rows that could not be tracked, in input order.
        bad_row_count: all rows that could not be tracked.
        users: distinct user ids tracked.
        sessions: distinct (user, session) pairs tracked.
        calls_floor: the fewest PutEvents calls that could carry those sessions
            (sum over sessions of ceil(events / 10)).
        put_events_calls: PutEvents calls made (retries and split batches included).
        retried_calls: of those, retries.
        wall_seconds: seconds from the first row read until the final flush returned.
        timeline: samples of the counters over time, about every 0.1 s (for :meth:`plot`).
    """

    rows_read: int
    tracked: int
    delivered: int
    failed: int
    failed_by_reason: dict[str, int]
    dropped: int
    pending: int
    bad_rows: tuple[BadRow, ...]
    bad_row_count: int
    users: int
    sessions: int
    calls_floor: int
    put_events_calls: int
    retried_calls: int
    wall_seconds: float
    timeline: tuple[ReplaySample, ...] = ()

    @property
    def events_per_second(self) -> float:
        """Events delivered per second of wall time."""
        return self.delivered / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def events_per_call(self) -> float:
        """Events delivered per PutEvents call made."""
        return self.delivered / self.put_events_calls if self.put_events_calls else 0.0

    @property
    def problems(self) -> list[str]:
        """What went wrong, one phrase each; empty when every row was delivered."""
        return replay_problems(
            self.bad_row_count, self.failed, self.dropped, self.pending, "event(s)"
        )

    @property
    def ok(self) -> bool:
        """True when every row read was tracked and delivered."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data (seconds, events per second, counts).

        Bad rows are listed as ``{"row", "line", "message"}``; the timeline is left out.
        """
        return {
            "result": "PASS" if self.ok else "FAIL",
            "problems": self.problems,
            "rows_read": self.rows_read,
            "tracked": self.tracked,
            "delivered": self.delivered,
            "failed": self.failed,
            "failed_by_reason": dict(self.failed_by_reason),
            "dropped": self.dropped,
            "pending": self.pending,
            "bad_row_count": self.bad_row_count,
            "bad_rows": [
                {"row": bad.row, "line": bad.line, "message": bad.message} for bad in self.bad_rows
            ],
            "users": self.users,
            "sessions": self.sessions,
            "put_events_calls": self.put_events_calls,
            "retried_calls": self.retried_calls,
            "calls_floor": self.calls_floor,
            "events_per_call": round(self.events_per_call, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "events_per_second": round(self.events_per_second, 1),
        }

    def _rows(self) -> list[tuple[str, str]]:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.failed_by_reason.items()))
        return [
            ("rows read", f"{self.rows_read:,}"),
            ("tracked", f"{self.tracked:,} ({self.users:,} users, {self.sessions:,} sessions)"),
            ("delivered", f"{self.delivered:,}"),
            ("failed", f"{self.failed:,}" + (f" ({reasons})" if reasons else "")),
            ("dropped", f"{self.dropped:,}"),
            ("pending", f"{self.pending:,}"),
            ("bad rows", f"{self.bad_row_count:,}"),
            (
                "PutEvents calls",
                f"{self.put_events_calls:,} ({self.retried_calls:,} retried), "
                f"{self.events_per_call:.2f} events per call (floor {self.calls_floor:,})",
            ),
            ("wall time", f"{self.wall_seconds:.2f} s"),
            ("throughput", f"{self.events_per_second:,.0f} events/s delivered"),
        ]

    def __repr__(self) -> str:
        return (
            f"<ReplaySummary {'ok' if self.ok else 'FAIL'}: rows_read={self.rows_read} "
            f"tracked={self.tracked} delivered={self.delivered} failed={self.failed} "
            f"dropped={self.dropped} pending={self.pending} bad_rows={self.bad_row_count} "
            f"wall_seconds={self.wall_seconds:.2f}>"
        )

    def __str__(self) -> str:
        rows = self._rows()
        width = max(len(label) for label, _ in rows)
        lines = [f"  {label.ljust(width)}  {value}" for label, value in rows]
        lines.extend(f"    {bad}" for bad in self.bad_rows[:10])
        if self.bad_row_count > 10:
            lines.append(f"    ... and {self.bad_row_count - 10:,} more bad rows")
        lines.append(
            "PASS: every row delivered" if self.ok else "FAIL: " + "; ".join(self.problems)
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """An HTML table of the summary (Jupyter shows it for a cell's last value)."""
        verdict = "every row delivered" if self.ok else "; ".join(self.problems)
        extra = ""
        if self.bad_rows:
            extra = html_table(
                [
                    (str(bad.line if bad.line is not None else bad.row), bad.message)
                    for bad in self.bad_rows[:10]
                ],
                caption=f"Bad rows (first {min(10, len(self.bad_rows))} of {self.bad_row_count:,})",
                header=("line" if self.bad_rows[0].line is not None else "row", "problem"),
            )
        return html_table(self._rows(), caption=f"Replay: {verdict}", ok=self.ok) + extra

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw delivered events over time, with retried calls and failed events.

        Needs matplotlib (the ``notebook`` extra).

        Args:
            ax: the matplotlib Axes to draw on; ``None`` creates a figure.

        Returns:
            The Axes: x is seconds since the replay started, y cumulative counts; delivered
            events on the left axis, retried calls and failed plus dropped events on the same
            axis (their lines stay near 0 when all went well).

        Raises:
            ImportError: matplotlib is not installed.
        """
        if ax is None:
            try:
                import matplotlib.pyplot as plt
            except ImportError as error:
                raise missing_extra("notebook", "ReplaySummary.plot()", error) from error

            _, ax = plt.subplots(figsize=(8, 4))
        samples = self.timeline or (ReplaySample(0.0, 0, 0, 0, 0, 0),)
        seconds = [s.seconds for s in samples]
        ax.plot(seconds, [s.delivered for s in samples], label="delivered events", lw=2)
        ax.plot(seconds, [s.retried for s in samples], label="retried calls", ls="--")
        ax.plot(seconds, [s.failed + s.dropped for s in samples], label="failed + dropped", ls=":")
        ax.set_xlabel("seconds since the replay started")
        ax.set_ylabel("cumulative count")
        ax.set_title(
            f"{self.delivered:,} events delivered in {self.wall_seconds:.1f} s "
            f"({self.events_per_second:,.0f}/s)"
        )
        ax.legend(loc="upper left")
        ax.grid(True, alpha=0.3)
        return ax


def replay_problems(bad_rows: int, failed: int, lost: int, pending: int, noun: str) -> list[str]:
    """What went wrong in a replay, one phrase each (empty when nothing did).

    Args:
        bad_rows: rows skipped as bad; failed, lost, pending: records failed, dropped (not
            counting those replaced by a later record of the same id) and still pending.
        noun: what the records are called, e.g. ``"event(s)"`` or ``"items"``.
    """
    counts = [(bad_rows, "bad row(s) skipped"), (failed, f"{noun} failed")]
    counts += [(lost, f"{noun} dropped"), (pending, f"{noun} still pending")]
    return [f"{n:,} {what}" for n, what in counts if n]
