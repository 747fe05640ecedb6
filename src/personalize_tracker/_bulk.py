"""Bulk interaction data: column mapping, Interactions CSV and JSON Lines reading, CSV export.

The pieces behind :func:`personalize_tracker.replay` and the ``personalize-tracker replay`` and
``export`` commands:

- :class:`FieldMapping` finds which column of a record holds which event field (by an explicit
  mapping, or by name: ``user_id``, ``userId`` and ``USER_ID`` are all the user id) and turns one
  record into :class:`RowFields`, raising :class:`RowError` with a readable message when a value
  cannot be used.
- :func:`read_interactions_csv` and :func:`read_json_lines` stream a file as ``(line, record)``
  pairs, a problem text standing in for a record that cannot be read.
- :func:`write_interactions_csv` writes events as an Interactions CSV for a dataset import job.

Nothing here imports pandas, tqdm or click.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import IO, Any, Literal

import attrs

from ._event import Event

__all__ = [
    "CONTEXT_ALL",
    "FIELDS",
    "INTERACTIONS_COLUMNS",
    "BulkFormatError",
    "ExportLine",
    "FieldMapping",
    "RowError",
    "RowFields",
    "count_lines",
    "detect_format",
    "export_rows",
    "flatten_record",
    "read_export_events",
    "read_interactions_csv",
    "read_json_lines",
    "to_upper_snake",
    "write_interactions_csv",
]

#: The event fields a column can be mapped to (keys of ``mapping=``), besides ``context``.
FIELDS = (
    "user_id",
    "item_id",
    "event_type",
    "timestamp",
    "event_value",
    "impression",
    "recommendation_id",
    "session_id",
    "event_id",
    "metric_attribution_source",
    "properties",
)
#: ``mapping={"context": CONTEXT_ALL}``: every column not mapped to a field is contextual metadata.
CONTEXT_ALL = "*"

# Column names recognised for each field, compared lower-case without "_", "-" or spaces, so
# "user_id", "userId" and "USER_ID" all match. "sent_at" is another name for "timestamp".
_ALIASES: dict[str, tuple[str, ...]] = {
    "user_id": ("userid",),
    "item_id": ("itemid",),
    "event_type": ("eventtype",),
    "timestamp": ("timestamp", "sentat"),
    "event_value": ("eventvalue",),
    "impression": ("impression",),
    "recommendation_id": ("recommendationid",),
    "session_id": ("sessionid",),
    "event_id": ("eventid",),
    "metric_attribution_source": ("metricattributionsource", "eventattributionsource"),
    "properties": ("properties",),
}
_BY_ALIAS = {alias: field for field, aliases in _ALIASES.items() for alias in aliases}
_MAPPING_KEYS = frozenset({*FIELDS, "sent_at", "context"})

#: The Interactions dataset columns PutEvents fills from its own members, in export order.
INTERACTIONS_COLUMNS = (
    "USER_ID",
    "ITEM_ID",
    "TIMESTAMP",
    "EVENT_TYPE",
    "EVENT_VALUE",
    "IMPRESSION",
    "RECOMMENDATION_ID",
)
_REQUIRED_EXPORT_COLUMNS = ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE")
# Keys of a dead-letter line that describe the failure, not the event.
_DEAD_LETTER_META = ("failedAt", "reason", "errorCode", "message", "trackingId")

Format = Literal["csv", "jsonl"]


class BulkFormatError(ValueError):
    """A bulk file cannot be read at all (no header, a missing required column, bad format)."""


class RowError(ValueError):
    """One record cannot become an event; the message says which field and why."""


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def _is_missing(value: object) -> bool:
    """None, NaN, pandas' NA and NaT, and empty or blank strings are missing values."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds; anything else unchanged."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):  # pragma: no cover - arrays of several values
            return value
    return value


@attrs.frozen(slots=True)
class RowFields:
    """The event fields read from one record (``None``: absent).

    Attributes:
        user_id: ``userId``.
        session_id: ``sessionId`` when the record has one; else the replay cuts sessions.
        item_id: ``itemId``.
        event_type: ``eventType`` (the record's, else the default event type).
        sent_at: ``sentAt`` in epoch seconds (float), or ``None`` for "now".
        event_value: ``eventValue``.
        impression: ``impression`` item ids.
        recommendation_id: ``recommendationId``.
        event_id: ``eventId`` (kept, so a replayed event is not counted twice in training).
        properties: contextual metadata, keyed by column or property name.
        metric_attribution_source: ``metricAttribution.eventAttributionSource``.
    """

    user_id: str | int | None
    session_id: str | int | None
    item_id: str | int | None
    event_type: str | None
    sent_at: float | None
    event_value: float | None
    impression: tuple[str | int, ...] | None
    recommendation_id: str | None
    event_id: str | None
    properties: dict[str, Any] | None
    metric_attribution_source: str | None


@attrs.frozen(slots=True)
class _Plan:
    columns: dict[str, str]  # field -> column
    context: tuple[tuple[str, str], ...]  # (property name, column)


class FieldMapping:
    """Which column holds which event field, and how a record becomes :class:`RowFields`.

    Args:
        mapping: field name -> column name, for the fields in :data:`FIELDS` (``"sent_at"`` is
            accepted for ``"timestamp"``); ``None`` as a column leaves the field out. Fields not
            in the mapping are found by column name, ignoring case, ``_``, ``-`` and spaces
            (``user_id``, ``userId``, ``USER_ID``; ``timestamp`` or ``sentAt``). The key
            ``"context"`` names the contextual-metadata columns: a list of columns (each sent
            under its own name, camelCased: ``DEVICE_TYPE`` -> ``deviceType``), a dict
            ``{property name: column}``, or ``"*"`` for every column not used for a field.
            Default of ``"context"``: ``"*"`` when ``mapping`` is ``None``, no columns otherwise.
            A ``properties`` column may hold a mapping or a JSON object string; context columns
            are merged into it.
        event_type: the event type of records that have none (no column, or an empty value).

    Raises:
        ValueError: an unknown key in ``mapping``, or a value of the wrong type.
    """

    def __init__(
        self, mapping: Mapping[str, Any] | None = None, *, event_type: str | None = None
    ) -> None:
        given = dict(mapping or {})
        unknown = sorted(set(given) - _MAPPING_KEYS)
        if unknown:
            raise ValueError(
                f"unknown mapping key(s) {', '.join(map(repr, unknown))}; expected "
                f"{', '.join(FIELDS)} or 'context'"
            )
        if "sent_at" in given:
            if "timestamp" in given:
                raise ValueError("mapping has both 'timestamp' and 'sent_at'; give one")
            given["timestamp"] = given.pop("sent_at")
        context = given.pop("context", CONTEXT_ALL if mapping is None else ())
        for field, column in given.items():
            if column is not None and not isinstance(column, str):
                raise ValueError(
                    f"mapping[{field!r}] must be a column name (str) or None, got {column!r}"
                )
        if isinstance(context, str):
            if context != CONTEXT_ALL:
                raise ValueError(
                    f"mapping['context'] must be '*', a list of columns or a dict, got {context!r}"
                )
        elif isinstance(context, Mapping):
            context = tuple((str(name), str(column)) for name, column in context.items())
        elif isinstance(context, Iterable):
            context = tuple((str(column), str(column)) for column in context)
        else:
            raise ValueError(f"mapping['context'] must be '*', a list or a dict, got {context!r}")
        self._given: dict[str, str | None] = given
        self._context: str | tuple[tuple[str, str], ...] = context
        self.event_type = event_type
        self._plans: dict[tuple[str, ...], _Plan] = {}

    def plan(self, columns: Sequence[str]) -> dict[str, str]:
        """Return field -> column for records with these columns (for messages and checks)."""
        return dict(self._plan(tuple(columns)).columns)

    def context_columns(self, columns: Sequence[str]) -> list[str]:
        """Return the columns read as contextual metadata for records with these columns."""
        return [column for _, column in self._plan(tuple(columns)).context]

    def missing_columns(self, columns: Sequence[str]) -> list[str]:
        """Return the columns named in the mapping (fields and context) not among ``columns``."""
        present = set(columns)
        named = [c for c in self._given.values() if c is not None]
        if not isinstance(self._context, str):
            named.extend(column for _, column in self._context)
        return [column for column in dict.fromkeys(named) if column not in present]

    def _plan(self, key: tuple[str, ...]) -> _Plan:
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        found: dict[str, str] = {}
        for column in key:
            field = _BY_ALIAS.get(_normal(column))
            if field is not None and field not in self._given and field not in found:
                found[field] = column
        for field, given in self._given.items():
            if given is not None:
                found[field] = given
        if isinstance(self._context, str):
            used = set(found.values())
            context = tuple((c, c) for c in key if c not in used)
        else:
            context = self._context
        plan = _Plan(found, context)
        if len(self._plans) < 64:  # records of a file share a few key sets at most
            self._plans[key] = plan
        return plan

    def extract(self, record: Mapping[str, Any]) -> RowFields:
        """Read the event fields of one record.

        Args:
            record: column -> value. Missing values (``None``, NaN, pandas NA/NaT, blank
                strings) count as absent. numpy scalars are read as Python values.

        Returns:
            The :class:`RowFields`; their PutEvents rules are checked later, by ``track()``.

        Raises:
            RowError: a value cannot be read: a timestamp that is not epoch seconds or an
                aware datetime, an event value that is not a number, an id of the wrong type,
                a ``properties`` value that is not a JSON object.
        """
        plan = self._plan(tuple(record))
        columns = plan.columns

        def get(field: str) -> Any:
            column = columns.get(field)
            if column is None:
                return None
            value = _plain(record.get(column))
            return None if _is_missing(value) else value

        event_type = get("event_type")
        if event_type is None:
            event_type = self.event_type
        elif not isinstance(event_type, str):
            event_type = str(event_type)
        properties = _properties(get("properties"), columns.get("properties"))
        for name, column in plan.context:
            value = _plain(record.get(column))
            if not _is_missing(value):
                if properties is None:
                    properties = {}
                properties[name] = value.strip() if isinstance(value, str) else value
        return RowFields(
            user_id=_identifier(get("user_id"), "user_id", columns),
            session_id=_identifier(get("session_id"), "session_id", columns),
            item_id=_identifier(get("item_id"), "item_id", columns),
            event_type=event_type,
            sent_at=_epoch_seconds(get("timestamp"), columns.get("timestamp")),
            event_value=_event_value(get("event_value"), columns.get("event_value")),
            impression=_impression(get("impression"), columns.get("impression")),
            recommendation_id=_text(get("recommendation_id")),
            event_id=_text(get("event_id")),
            properties=properties,
            metric_attribution_source=_text(get("metric_attribution_source")),
        )


def _where(field: str, column: str | None) -> str:
    return field if column is None or column == field else f"{field} (column {column!r})"


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.strip() if isinstance(value, str) else str(value)


def _identifier(value: object, field: str, columns: Mapping[str, str]) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        raise RowError(f"{_where(field, columns.get(field))} is a bool ({value!r}), not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # an integer id column that pandas read as float (it has gaps)
    raise RowError(
        f"{_where(field, columns.get(field))} is {value!r} ({type(value).__name__}); "
        "an id is a string or an integer"
    )


def _event_value(value: object, column: str | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise RowError(f"{_where('event_value', column)} is {value!r}, not a number") from None
    if isinstance(value, Real) and not isinstance(value, bool):
        return float(value)
    raise RowError(
        f"{_where('event_value', column)} is {value!r} ({type(value).__name__}), not a number"
    )


def _epoch_seconds(value: object, column: str | None) -> float | None:
    """A timestamp as epoch seconds: a number, a numeric string, an aware datetime or an ISO
    8601 string with an offset."""
    if value is None:
        return None
    where = _where("timestamp", column)
    if isinstance(value, bool):
        raise RowError(f"{where} is a bool ({value!r}), not a time")
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(int(text))
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            pass
        try:
            value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise RowError(
                f"{where} is {text!r}: expected epoch seconds or an ISO 8601 time with an offset"
            ) from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise RowError(
                f"{where} is a naive datetime ({value}): give it a time zone (for a pandas "
                "column: .dt.tz_localize('UTC')) or use epoch seconds"
            )
        return value.timestamp()
    raise RowError(
        f"{where} is {value!r} ({type(value).__name__}): expected epoch seconds or an aware "
        "datetime"
    )


def _impression(value: object, column: str | None) -> tuple[str | int, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        ids: list[str | int] = [part.strip() for part in value.split("|") if part.strip()]
    elif isinstance(value, Iterable):
        ids = []
        for part in value:
            part = _plain(part)
            if isinstance(part, float) and part.is_integer():
                part = int(part)
            if isinstance(part, bool) or not isinstance(part, (str, int)):
                raise RowError(
                    f"{_where('impression', column)} holds {part!r}; item ids are strings or "
                    "integers"
                )
            ids.append(part)
    else:
        raise RowError(
            f"{_where('impression', column)} is {value!r}: expected item ids joined with '|' "
            "or a list"
        )
    return tuple(ids) if ids else None


def _properties(value: object, column: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowError(
                f"{_where('properties', column)} is not valid JSON ({exc.msg})"
            ) from None
    if not isinstance(value, Mapping):
        raise RowError(
            f"{_where('properties', column)} must be a JSON object or a mapping, got "
            f"{type(value).__name__}"
        )
    return dict(value)


# --------------------------------------------------------------------------------------------
# reading files


def detect_format(path: str | os.PathLike[str], given: str | None = None) -> Format:
    """Decide whether a file is an Interactions CSV or JSON Lines.

    Args:
        path: the file.
        given: ``"csv"`` or ``"jsonl"`` to override the guess; ``None`` guesses from the
            extension: ``.csv`` is CSV; ``.jsonl``, ``.ndjson`` and ``.json`` are JSON Lines.

    Returns:
        ``"csv"`` or ``"jsonl"``.

    Raises:
        BulkFormatError: ``given`` is not a known format, or the extension says nothing.
    """
    if given is not None:
        if given not in ("csv", "jsonl"):
            raise BulkFormatError(f"unknown format {given!r}; expected 'csv' or 'jsonl'")
        return "csv" if given == "csv" else "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise BulkFormatError(
        f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
        "name it .csv or .jsonl, or pass --format"
    )


def count_lines(path: str | os.PathLike[str], *, header: bool, limit: int | None = None) -> int:
    """Count the non-blank lines of a file, less a header line (a progress bar's total).

    Args:
        path: the file.
        header: whether the first line is a header, not counted.
        limit: count at most this many.

    Returns:
        The count (a CSV field holding a line break makes it an over-estimate).

    Raises:
        OSError: the file cannot be read.
    """
    with Path(path).open("rb") as stream:
        if header:
            next(stream, None)
        count = sum(1 for line in stream if line.strip())
    return count if limit is None else min(count, limit)


def read_interactions_csv(
    path: str | os.PathLike[str], *, limit: int | None = None
) -> Iterator[tuple[int, dict[str, str] | str]]:
    """Stream an Interactions CSV (the format of a dataset import job) row by row.

    The header names the columns: ``USER_ID``, ``ITEM_ID``, ``TIMESTAMP`` (epoch seconds) and
    optionally ``EVENT_TYPE``, ``EVENT_VALUE``, ``IMPRESSION`` (ids joined with ``|``),
    ``RECOMMENDATION_ID`` and contextual-metadata columns. Values stay strings; empty cells are
    left out of the record.

    Args:
        path: the CSV file (UTF-8, a byte-order mark is ignored).
        limit: stop after this many data rows (``None``: all).

    Yields:
        ``(line, record)``: the 1-based line number where the row starts and column -> value;
        or ``(line, problem)`` for a row with the wrong number of fields.

    Raises:
        OSError: the file cannot be read.
        BulkFormatError: the file is empty, or the header lacks ``USER_ID`` or ``TIMESTAMP``.
    """
    with Path(path).open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None:
            raise BulkFormatError(f"{path}: the file is empty; expected a header line")
        names = [name.strip() for name in header]
        normal = {_normal(name) for name in names}
        missing = [c for c in ("USER_ID", "TIMESTAMP") if _normal(c) not in normal]
        if missing:
            raise BulkFormatError(
                f"{path}:1: the header lacks {' and '.join(missing)}; an Interactions CSV has "
                f"USER_ID,ITEM_ID,TIMESTAMP[,EVENT_TYPE,...], got {','.join(names)}"
            )
        width = len(names)
        count = 0
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            count += 1
            if len(row) != width:
                yield line, f"{len(row)} fields, the header has {width}"
            else:
                yield (
                    line,
                    {name: value for name, value in zip(names, row, strict=True) if value.strip()},
                )
            if limit is not None and count >= limit:
                return


def flatten_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Return the event fields of a JSON Lines record, whichever accepted shape it has.

    Accepted: a dead-letter line (``{"reason": ..., "sessionId": ..., "userId": ...,
    "event": {...}}``, as ``Tracker(dead_letter_path=...)`` writes), or an event dict with the
    PutEvents names plus ``sessionId`` and ``userId`` (as the spool, ``serve --record`` and
    ``personalize_tracker._serial`` write). ``metricAttribution`` becomes
    ``metricAttributionSource``; the failure details of a dead letter and ``trackingId`` are left
    out.
    """
    if isinstance(record.get("event"), Mapping):
        flat = dict(record["event"])
        for key in ("sessionId", "userId"):
            if record.get(key) is not None:
                flat[key] = record[key]
    else:
        flat = {k: v for k, v in record.items() if k not in _DEAD_LETTER_META}
    attribution = flat.pop("metricAttribution", None)
    if isinstance(attribution, Mapping) and attribution.get("eventAttributionSource"):
        flat["metricAttributionSource"] = attribution["eventAttributionSource"]
    return flat


def read_json_lines(
    path: str | os.PathLike[str], *, limit: int | None = None
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Stream a JSON Lines file of events (see :func:`flatten_record` for the accepted shapes).

    Args:
        path: the file (UTF-8); blank lines are skipped.
        limit: stop after this many non-blank lines (``None``: all).

    Yields:
        ``(line, record)`` with the record flattened by :func:`flatten_record`, or
        ``(line, problem)`` for a line that is not a JSON object (a torn last line, say).

    Raises:
        OSError: the file cannot be read.
    """
    count = 0
    with Path(path).open(encoding="utf-8-sig") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            count += 1
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            else:
                if isinstance(record, dict):
                    yield number, flatten_record(record)
                else:
                    yield number, f"a JSON {type(record).__name__}, not an object"
            if limit is not None and count >= limit:
                return


# --------------------------------------------------------------------------------------------
# writing an Interactions CSV


def to_upper_snake(name: str) -> str:
    """Return the Interactions schema field name of a ``properties`` key.

    ``"deviceType"`` -> ``"DEVICE_TYPE"``, ``"location"`` -> ``"LOCATION"``,
    ``"DEVICE_TYPE"`` stays.
    """
    if re.fullmatch(r"[A-Z0-9_]+", name):
        return name
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").upper()


def _csv_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def export_rows(events: Iterable[Event], context: Sequence[str]) -> Iterator[dict[str, str]]:
    """Map events to Interactions CSV rows (column -> text).

    Args:
        events: the events (``Event.create`` checked them).
        context: the ``properties`` keys (camelCase) to write, as UPPER_SNAKE columns.

    Yields:
        One dict per event: ``USER_ID``, ``ITEM_ID``, ``TIMESTAMP`` (whole epoch seconds, rounded
        down), ``EVENT_TYPE``, ``EVENT_VALUE``, ``IMPRESSION`` (ids joined with ``|``),
        ``RECOMMENDATION_ID`` and the context columns; ``""`` for an absent value. A multi-valued
        property is already ``|``-joined; ``True``/``False`` are written as ``true``/``false``.
    """
    for event in events:
        properties = json.loads(event.properties) if event.properties else {}
        row = {
            "USER_ID": event.user_id or "",
            "ITEM_ID": event.item_id or "",
            "TIMESTAMP": str(math.floor(event.sent_at)),
            "EVENT_TYPE": event.event_type,
            "EVENT_VALUE": "" if event.event_value is None else _csv_number(event.event_value),
            "IMPRESSION": "|".join(event.impression or ()),
            "RECOMMENDATION_ID": event.recommendation_id or "",
        }
        for key in context:
            value = properties.get(key)
            if value is None:
                text = ""
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, float):
                text = _csv_number(value)
            else:
                text = str(value)
            row[to_upper_snake(key)] = text
        yield row


def write_interactions_csv(
    stream: IO[str],
    events: Iterable[Event],
    *,
    context: Sequence[str] = (),
    columns: Sequence[str] | None = None,
) -> int:
    """Write events as an Interactions CSV, ready for a dataset import job.

    Args:
        stream: a text stream opened with ``newline=""``.
        events: the events to write, in order.
        context: the ``properties`` keys (camelCase) to write as columns, in this order, named in
            UPPER_SNAKE (``deviceType`` -> ``DEVICE_TYPE``).
        columns: which of :data:`INTERACTIONS_COLUMNS` to write (default: all). ``USER_ID``,
            ``ITEM_ID``, ``TIMESTAMP`` and ``EVENT_TYPE`` are always written.

    Returns:
        The number of rows written (the header excluded).
    """
    chosen = set(INTERACTIONS_COLUMNS if columns is None else columns)
    chosen.update(_REQUIRED_EXPORT_COLUMNS)
    header = [c for c in INTERACTIONS_COLUMNS if c in chosen]
    header.extend(to_upper_snake(key) for key in context)
    writer = csv.DictWriter(stream, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in export_rows(events, context):
        writer.writerow(row)
        count += 1
    return count


# --------------------------------------------------------------------------------------------
# reading events for an export


@attrs.frozen
class ExportLine:
    """One readable line of a JSON Lines file, as an event to export.

    Attributes:
        line: 1-based line number.
        event: the event, checked with :meth:`Event.create`.
        reason: a dead letter's failure reason (``"invalid"``...), or ``None`` for a plain event.
    """

    line: int
    event: Event
    reason: str | None


def read_export_events(
    path: str | os.PathLike[str],
) -> Iterator[ExportLine | tuple[int, str]]:
    """Read the events of a JSON Lines file (dead letters or plain event dicts) for an export.

    Every event must have a user id, an event type and a time (an Interactions dataset row
    needs ``USER_ID``, ``EVENT_TYPE`` and ``TIMESTAMP``) and pass the PutEvents checks.

    Args:
        path: the file (see :func:`flatten_record` for the accepted shapes).

    Yields:
        An :class:`ExportLine` per usable line, or ``(line, problem)`` for one that is not.

    Raises:
        OSError: the file cannot be read.
    """
    fields = FieldMapping({"context": ()})
    with Path(path).open(encoding="utf-8-sig") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            if not isinstance(record, dict):
                yield number, f"a JSON {type(record).__name__}, not an object"
                continue
            reason = record.get("reason") if isinstance(record.get("event"), Mapping) else None
            try:
                row = fields.extract(flatten_record(record))
                if row.user_id is None:
                    raise RowError("no userId: an Interactions dataset row needs a USER_ID")
                if row.event_type is None:
                    raise RowError("no eventType")
                if row.sent_at is None:
                    raise RowError("no sentAt: an Interactions dataset row needs a TIMESTAMP")
                event = Event.create(
                    row.event_type,
                    row.session_id if row.session_id is not None else "export",
                    user_id=row.user_id,
                    item_id=row.item_id,
                    event_value=row.event_value,
                    properties=row.properties,
                    sent_at=row.sent_at,
                    event_id=row.event_id,
                    recommendation_id=row.recommendation_id,
                    impression=row.impression,
                    metric_attribution_source=row.metric_attribution_source,
                )
            except ValueError as exc:  # RowError, InvalidEventError
                yield number, str(exc)
                continue
            yield ExportLine(number, event, None if reason is None else str(reason))
