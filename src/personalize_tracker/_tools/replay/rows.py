"""The rows of a replay: the input as records, each read into event fields, cut into sessions.

:func:`input_rows` takes the input (a DataFrame, an iterable of records, or the ``(line,
record)`` pairs of a bulk reader) as ``(position, line, record)`` triples; :class:`RowReader`
reads each record into :class:`Prepared` event fields, sending the rows that cannot be tracked
to :class:`BadRows`; :func:`cut_sessions` gives every row its session id.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sized
from typing import Any, TypeAlias

import attrs

from ..bulk.fields import FieldMapping, RowFields
from ..bulk.values import RowError
from .summary import BadRow

__all__ = [
    "EVENT_TYPE_HINT",
    "MAX_BAD_ROWS_KEPT",
    "BadRows",
    "Prepared",
    "RowReader",
    "cut_sessions",
    "input_rows",
    "records_of",
]

#: Bad rows kept in a summary (all are counted in ``bad_row_count``).
MAX_BAD_ROWS_KEPT = 1000

#: ``(position, line, record)``: 0-based position in the input, 1-based line in a file (or
#: ``None``), and the record (a mapping; a ``str`` stands for a problem found while reading).
Located: TypeAlias = tuple[int, int | None, Any]


def records_of(data: Any) -> tuple[Iterable[Located], int | None, list[str] | None]:
    """Return the rows of a DataFrame or an iterable of records as ``(position, None, record)``.

    Args:
        data: a pandas DataFrame (each row becomes a dict of column -> value), or any iterable
            of records.

    Returns:
        The rows (lazily), their number when known (``len()``), and the columns of a DataFrame
        (``None`` for other data).

    Raises:
        TypeError: ``data`` is a string, bytes or a mapping (one record, not an iterable of them).
    """
    if hasattr(data, "columns") and hasattr(data, "itertuples"):  # a pandas DataFrame
        columns = [str(c) for c in data.columns]
        tuples = data.itertuples(index=False, name=None)
        rows = ((i, None, dict(zip(columns, t, strict=True))) for i, t in enumerate(tuples))
        return rows, len(data), columns
    if isinstance(data, (str, bytes, Mapping)):
        raise TypeError(
            f"replay() takes a DataFrame or an iterable of records, got {type(data).__name__}"
        )
    total = len(data) if isinstance(data, Sized) else None
    return ((i, None, record) for i, record in enumerate(data)), total, None


def input_rows(
    data: Any, fields: FieldMapping, *, located: bool, total: int | None, limit: int | None
) -> tuple[Iterable[Located], int | None]:
    """Return the rows to replay as ``(position, line, record)``, and their number if known.

    Args:
        data: see :func:`records_of`; with ``located``, ``(line, record_or_problem)`` pairs.
        fields: the mapping, to check a DataFrame has every column it names.
        located: whether ``data`` holds ``(line, record_or_problem)`` pairs (a bulk reader's).
        total: the number of rows when ``data`` has no ``len()`` (for the progress bar).
        limit: keep at most this many rows (``None``: all).

    Raises:
        TypeError: as :func:`records_of`.
        ValueError: a DataFrame lacks a column named in the mapping.
    """
    rows: Iterable[Located]
    if located:
        rows = ((i, line, record) for i, (line, record) in enumerate(data))
    else:
        rows, known, columns = records_of(data)
        total = known if total is None else total
        if columns is not None:
            missing = fields.missing_columns(columns)
            if missing:
                raise ValueError(
                    f"the DataFrame has no column {', '.join(map(repr, missing))}; its columns: "
                    f"{', '.join(columns)}"
                )
    if limit is not None:
        rows = itertools.islice(rows, limit)
        total = limit if total is None else min(total, limit)
    return rows, total


class BadRows:
    """The rows that could not be tracked: all counted, the first :data:`MAX_BAD_ROWS_KEPT` kept.

    Args:
        advice: phrases of the messages to replace, e.g. Python advice (``"pass
            truncate_impressions=True to the Tracker"``) by the command line's flag
            (``"pass --truncate-impressions"``).

    Attributes:
        kept: the :class:`BadRow` records kept, in the order they were rejected.
        count: every row rejected.
    """

    def __init__(self, advice: Mapping[str, str] | None = None) -> None:
        self.kept: list[BadRow] = []
        self.count = 0
        self._advice = dict(advice or {})

    def reject(self, position: int, line: int | None, message: str) -> None:
        """Count a row that cannot be tracked, and keep it while there is room."""
        self.count += 1
        if len(self.kept) < MAX_BAD_ROWS_KEPT:
            for said, instead in self._advice.items():
                message = message.replace(said, instead)
            self.kept.append(BadRow(position, message, line))


@attrs.define(slots=True)
class Prepared:
    """A row read into event fields, with where it came from."""

    position: int
    line: int | None
    fields: RowFields


#: How a message tells the caller to give an event type, in Python (``replay()``); the
#: command line replaces it with its flag (see :class:`BadRows`).
EVENT_TYPE_HINT = "map an event_type column or pass event_type="


class RowReader:
    """Iterates over the rows that can be tracked, as :class:`Prepared` rows.

    A row that cannot (a problem found while reading, not a mapping, a value that cannot be
    read, no event type, neither user id nor session id, an empty cell in the timestamp column)
    goes to ``bad`` instead. An empty timestamp is not "now": the history would be silently
    wrong (a record without a timestamp column at all is sent as of now, as documented).

    Args:
        rows: the rows, as :func:`input_rows` returns them.
        fields: how a record becomes event fields.
        bad: where rejected rows go.

    Attributes:
        read: rows read so far, bad ones included.
    """

    def __init__(
        self,
        rows: Iterable[Located],
        fields: FieldMapping,
        bad: BadRows,
    ) -> None:
        self._rows = rows
        self._fields = fields
        self._bad = bad
        self.read = 0

    def __iter__(self) -> Iterator[Prepared]:
        for position, line, record in self._rows:
            self.read += 1
            row = self._prepare(position, line, record)
            if row is not None:
                yield row

    def _prepare(self, position: int, line: int | None, record: Any) -> Prepared | None:
        reject = self._bad.reject
        if isinstance(record, str):
            reject(position, line, record)
            return None
        if not isinstance(record, Mapping):
            reject(position, line, f"a {type(record).__name__}, not a record (a mapping)")
            return None
        try:
            row = self._fields.extract(record)
        except RowError as exc:
            reject(position, line, str(exc))
            return None
        plan = self._fields.plan(list(record))
        if row.event_type is None:
            where = plan.get("event_type")
            column = f" (column {where!r} is empty)" if where else ""
            reject(position, line, f"no event type{column}: {EVENT_TYPE_HINT}")
        elif row.session_id is None and row.user_id is None:
            where = plan.get("user_id")
            column = f" (column {where!r} is empty)" if where else " (no user id column)"
            reject(position, line, f"no user id and no session id{column}")
        elif row.sent_at is None and plan.get("timestamp") is not None:
            where = plan["timestamp"]
            reject(position, line, f"no timestamp (column {where!r} is empty)")
        else:
            return Prepared(position, line, row)
        return None


def cut_sessions(
    rows: Iterable[Prepared], gap_seconds: float, prefix: str
) -> Iterator[tuple[Prepared, str | int]]:
    """Give each row a session id: its own, or ``<prefix><user>-<n>`` cut at gaps per user.

    Consecutive rows of one user are sorted by time (stable; rows without a time go last), as
    MovieLens-style files group a user's rows in no time order. A user's next row starts a new
    session when more than ``gap_seconds`` passed since that user's previous row (or it is that
    much earlier). The per-user state (last time, session count) lives across runs, so
    time-ordered logs with users interleaved are cut correctly too.

    Args:
        rows: the rows; each has a user id or a session id (:class:`RowReader` checks).
        gap_seconds: the largest gap, in seconds, within one session (>= 0).
        prefix: the start of generated session ids.

    Yields:
        ``(row, session id)``, run of rows by run of rows.
    """
    last: dict[str | int, tuple[float | None, int]] = {}

    def user_key(row: Prepared) -> Any:
        return row.fields.user_id

    for user, group in itertools.groupby(rows, key=user_key):
        run = sorted(
            group, key=lambda r: math.inf if r.fields.sent_at is None else r.fields.sent_at
        )
        if user is None:  # rows with their own session id (checked before)
            for row in run:
                assert row.fields.session_id is not None
                yield row, row.fields.session_id
            continue
        previous, number = last.get(user, (None, 0))
        for row in run:
            if row.fields.session_id is not None:
                yield row, row.fields.session_id
                continue
            sent_at = row.fields.sent_at
            if number == 0 or (
                sent_at is not None
                and previous is not None
                and abs(sent_at - previous) > gap_seconds
            ):
                number += 1
            if sent_at is not None:
                previous = sent_at
            yield row, f"{prefix}{user}-{number}"
        last[user] = (previous, number)
