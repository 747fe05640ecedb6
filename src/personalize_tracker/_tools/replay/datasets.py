"""Replaying an Items, Users or Actions bulk CSV: each row one ``put_item``, ``put_user`` or
``put_action`` call on a Tracker, paced on its queue, then a flush; and what it did,
:class:`DatasetReplaySummary`.

The rows come from :func:`~..bulk.csv_reader.read_csv_rows` and become calls through
:func:`~..bulk.datasets.dataset_row`; the counters are the kind's own
(``tracker.stats().kinds[kind]``), so events tracked meanwhile do not count.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Iterable
from typing import Any

import attrs

from ... import InvalidEventError, TrackerStats
from ...tracker import Tracker
from ..bulk.csv_reader import read_csv_rows
from ..bulk.datasets import DatasetKind, check_dataset_header, dataset_row
from ..bulk.values import RowError
from .loop import Counters, Pacer, Progress, flush_counting
from .rows import BadRows
from .summary import BadRow, replay_problems

__all__ = ["DatasetReplaySummary", "replay_dataset_rows", "row_lines"]

#: Records per PutItems, PutUsers or PutActions call (the service model's ``items``,
#: ``users`` and ``actions`` max).
_PER_CALL = 10


def _kind_stats(tracker: Tracker, kind: DatasetKind) -> TrackerStats:
    """The counters of ``kind`` in ``tracker.stats().kinds`` (zeros before its first record)."""
    found = tracker.stats().kinds.get(kind.name)
    return found if found is not None else TrackerStats(0, 0, 0, 0, 0)


def replay_dataset_rows(
    tracker: Tracker,
    rows: Iterable[tuple[int, Any]],
    kind: DatasetKind,
    *,
    total: int | None = None,
    progress: bool = True,
    progress_file: Any = None,
    flush_timeout: float | None = None,
) -> DatasetReplaySummary:
    """Send the rows of an Items, Users or Actions bulk CSV through ``tracker``, then flush.

    Each row becomes one ``put_item`` (``put_user``, ``put_action``) call with the id column as
    the id and the other columns as properties (see :func:`~..bulk.datasets.dataset_row`). A row
    that cannot be sent (unreadable, no id, a value the call refuses) is skipped and listed with
    its line in the summary's ``bad_rows``. The replay paces itself on the Tracker's queue, as
    :func:`~.loop.replay` does, so nothing is dropped for want of room.

    Args:
        tracker: an open Tracker with the dataset ARN of ``kind`` (``items_dataset_arn``...).
        rows: ``(line, record_or_problem)`` pairs, as
            :func:`~..bulk.csv_reader.read_csv_rows` yields them.
        kind: the dataset (:data:`~..bulk.datasets.DATASET_KINDS`).
        total: the number of rows, for the progress bar.
        progress: show a ``tqdm.auto`` progress bar (rows done: delivered, failed, dropped or
            bad) when tqdm is installed.
        progress_file: the stream the bar writes to (default: tqdm's, stderr).
        flush_timeout: seconds the final flush may take (``None``: until every record is
            delivered or failed).

    Returns:
        The :class:`DatasetReplaySummary`.

    Raises:
        ValueError: the Tracker has no ARN for ``kind``'s dataset (naming the option).
        TrackerClosedError: the Tracker is (or gets) closed.
    """
    put = getattr(tracker, kind.call)
    bad = BadRows()
    bar = Progress(progress, total, progress_file, bad)
    counters = Counters(tracker, bar.show, lambda: _kind_stats(tracker, kind))
    base_coalesced = counters.base.coalesced
    pacer = Pacer(tracker, counters)
    ids: set[str] = set()
    read = 0
    try:
        for position, (line, record) in enumerate(rows):
            read += 1
            try:
                if isinstance(record, str):
                    raise RowError(record)
                record_id, properties = dataset_row(kind, record)
                put(record_id, properties)
            except (RowError, InvalidEventError) as exc:
                bad.reject(position, line, str(exc))
                continue
            ids.add(record_id)
            pacer.tick()
        final = flush_counting(tracker, counters, flush_timeout)
    finally:
        bar.close()
    coalesced = _kind_stats(tracker, kind).coalesced - base_coalesced
    return DatasetReplaySummary(
        kind=kind.name,
        operation=kind.operation,
        rows_read=read,
        tracked=final.tracked,
        delivered=final.delivered,
        failed=final.failed,
        failed_by_reason=dict(final.failed_by_reason),
        dropped=final.dropped,
        coalesced=coalesced,
        pending=final.pending,
        bad_rows=tuple(sorted(bad.kept, key=lambda b: b.row)),
        bad_row_count=bad.count,
        distinct_ids=len(ids),
        calls=final.requests,
        retried_calls=final.retried,
        wall_seconds=counters.samples[-1].seconds,
    )


def row_lines(
    path: str | os.PathLike[str],
    kind: DatasetKind,
    ids: Collection[str],
    *,
    limit: int | None = None,
) -> dict[str, list[int]]:
    """The lines of ``kind``'s bulk CSV where each of ``ids`` is written (a second pass over the
    file, for the few records that failed in the background: the replay keeps no line per id).

    Args:
        path: the CSV replayed.
        kind: its dataset.
        ids: the record ids to find.
        limit: the rows the replay read (``None``: all).

    Returns:
        id -> its 1-based line numbers in file order (an id not found is left out).

    Raises:
        OSError: the file cannot be read.
        BulkFormatError: its header is not ``kind``'s.
    """
    found: dict[str, list[int]] = {}
    for line, record in read_csv_rows(path, check_dataset_header(kind), limit=limit):
        if isinstance(record, str):
            continue
        try:
            record_id, _ = dataset_row(kind, record)
        except RowError:
            continue
        if record_id in ids:
            found.setdefault(record_id, []).append(line)
    return found


@attrs.frozen(repr=False)
class DatasetReplaySummary:
    """What the replay of an Items, Users or Actions bulk CSV did. Counts are records (rows)
    unless named otherwise, taken as differences of the kind's counters before and after.

    Attributes:
        kind: ``"items"``, ``"users"`` or ``"actions"``.
        operation: ``"PutItems"``, ``"PutUsers"`` or ``"PutActions"``.
        rows_read: rows read from the file (bad rows included).
        tracked: records put (rows that passed every check).
        delivered: records delivered.
        failed: records given up on (see ``failed_by_reason``).
        failed_by_reason: ``failed`` by :class:`~personalize_tracker.FailureReason` value.
        dropped: records dropped: replaced by a later row of the same id before they were sent
            (``coalesced``: the dataset keeps the last write), or refused for a full queue.
        coalesced: of ``dropped``, records a later row of the same id replaced (not a problem).
        pending: records still pending when the replay returned.
        bad_rows: the first 1,000 rows that could not be sent, in file order.
        bad_row_count: all rows that could not be sent.
        distinct_ids: distinct ids put.
        calls: calls made (retries and split batches included).
        retried_calls: of those, retries.
        wall_seconds: seconds from the first row read until the final flush returned.
    """

    kind: str
    operation: str
    rows_read: int
    tracked: int
    delivered: int
    failed: int
    failed_by_reason: dict[str, int]
    dropped: int
    coalesced: int
    pending: int
    bad_rows: tuple[BadRow, ...]
    bad_row_count: int
    distinct_ids: int
    calls: int
    retried_calls: int
    wall_seconds: float

    @property
    def calls_floor(self) -> int:
        """The fewest calls that could carry the distinct ids: ceil(ids / 10)."""
        return math.ceil(self.distinct_ids / _PER_CALL)

    @property
    def problems(self) -> list[str]:
        """What went wrong, one phrase each; empty when every row was delivered (a row
        replaced by a later one of the same id is not a problem)."""
        lost = self.dropped - self.coalesced
        return replay_problems(self.bad_row_count, self.failed, lost, self.pending, self.kind)

    @property
    def ok(self) -> bool:
        """True when every row read was sent and delivered (or replaced by a later row)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data; bad rows as ``{"row", "line", "message"}``."""
        data: dict[str, Any] = {"result": "PASS" if self.ok else "FAIL", "problems": self.problems}
        for field in attrs.fields(DatasetReplaySummary):
            value = getattr(self, field.name)
            if field.name == "bad_rows":
                value = [{"row": b.row, "line": b.line, "message": b.message} for b in value]
            elif field.name == "wall_seconds":
                value = round(value, 3)
            data[field.name] = value
        data["calls_floor"] = self.calls_floor
        return data

    def __repr__(self) -> str:
        return (
            f"<DatasetReplaySummary {self.kind} {'ok' if self.ok else 'FAIL'}: "
            f"rows_read={self.rows_read} delivered={self.delivered} failed={self.failed} "
            f"bad_rows={self.bad_row_count}>"
        )

    def __str__(self) -> str:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.failed_by_reason.items()))
        rows = [
            ("rows read", f"{self.rows_read:,}"),
            ("put", f"{self.tracked:,} ({self.distinct_ids:,} distinct ids)"),
            ("delivered", f"{self.delivered:,}"),
            ("failed", f"{self.failed:,}" + (f" ({reasons})" if reasons else "")),
            ("dropped", f"{self.dropped:,} ({self.coalesced:,} replaced by a later row)"),
            ("pending", f"{self.pending:,}"),
            ("bad rows", f"{self.bad_row_count:,}"),
            (
                f"{self.operation} calls",
                f"{self.calls:,} ({self.retried_calls:,} retried; floor {self.calls_floor:,})",
            ),
            ("wall time", f"{self.wall_seconds:.2f} s"),
        ]
        width = max(len(label) for label, _ in rows)
        lines = [f"  {label.ljust(width)}  {value}" for label, value in rows]
        lines.extend(f"    {bad}" for bad in self.bad_rows[:10])
        if self.bad_row_count > 10:
            lines.append(f"    ... and {self.bad_row_count - 10:,} more bad rows")
        verdict = f"every row delivered ({self.kind})"
        lines.append(f"PASS: {verdict}" if self.ok else "FAIL: " + "; ".join(self.problems))
        return "\n".join(lines)
