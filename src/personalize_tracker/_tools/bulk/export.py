"""Events as an Interactions CSV, ready for a dataset import job (``personalize-tracker export``).

:func:`read_export_events` reads the events of a JSON Lines file (dead letters, recordings) and
checks each can be a dataset row; :func:`write_interactions_csv` writes events as CSV rows, with
:func:`to_upper_snake` naming the contextual-metadata columns.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

import attrs

from ... import Event
from .fields import FieldMapping
from .formats import BulkFormatError
from .jsonl_reader import flatten_record, json_objects, line_kind
from .values import RowError

__all__ = [
    "INTERACTIONS_COLUMNS",
    "ExportLine",
    "csv_cell",
    "export_line",
    "export_rows",
    "read_export_events",
    "to_upper_snake",
    "uncertain_columns",
    "write_interactions_csv",
]

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


def to_upper_snake(name: str) -> str:
    """Return the Interactions schema field name of a ``properties`` key: the inverse of
    :func:`~personalize_tracker.to_camel_case`.

    A new word starts at each upper-case letter and at each run of digits after a letter:
    ``"deviceType"`` -> ``"DEVICE_TYPE"``, ``"location"`` -> ``"LOCATION"``,
    ``"userFeature0"`` -> ``"USER_FEATURE_0"``, ``"httpURLPath"`` -> ``"HTTP_U_R_L_PATH"``
    (``to_camel_case`` makes ``httpURLPath`` of ``HTTP_U_R_L_PATH``); ``"DEVICE_TYPE"``
    stays. ``to_upper_snake(to_camel_case(n)) == n`` for every name ``n`` of upper-case words
    of letters, and of digits (optionally followed by letters), joined by ``_``, the first a
    word of letters (``USER_FEATURE_0``, ``TOP_3_ITEMS``). camelCase loses the ``_`` before a
    digit, so ``FEATURE0`` and ``FEATURE_0`` have the same key: export with the schema
    (``export --schema``, ``names=`` here) to get the schema's own spelling back.
    """
    if re.fullmatch(r"[A-Z0-9_]+", name):
        return name
    cleaned = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
    spaced = re.sub(r"(?<=[A-Za-z0-9])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])", "_", cleaned)
    return spaced.upper()


def uncertain_columns(columns: Mapping[str, str], names: Mapping[str, str] | None) -> list[str]:
    """The column names :func:`to_upper_snake` guessed that a schema may spell otherwise, each as
    ``"GUESS (or OTHER)"``: camelCase loses the ``_`` before a digit, so ``s3Path`` is
    ``S_3_PATH`` or ``S3_PATH`` (a bulk import job fails on a header its schema lacks).

    Args:
        columns: ``properties`` key -> the column name written.
        names: the names the schema gave (``--schema``): those are not guesses.
    """
    given = names or {}
    found = []
    for key, column in columns.items():
        if key not in given and re.search(r"[A-Za-z][0-9]", key):
            found.append(f"{column} (or {re.sub(r'(?<=[A-Z])_(?=[0-9])', '', column)})")
    return found


def _csv_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def csv_cell(value: Any) -> str:
    """A property's value as a bulk CSV cell: ``""`` for ``None``, ``true``/``false`` for a
    bool, a whole float without ``.0``, anything else as its text (a multi-valued categorical
    value is already ``|``-joined)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _csv_number(value)
    return str(value)


def export_rows(
    events: Iterable[Event],
    context: Sequence[str],
    names: Mapping[str, str] | None = None,
) -> Iterator[dict[str, str]]:
    """Map events to Interactions CSV rows (column -> text).

    Args:
        events: the events (``Event.create`` checked them).
        context: the ``properties`` keys (camelCase) to write, as UPPER_SNAKE columns.
        names: ``properties`` key -> column name (e.g. from the Interactions schema: its
            fields' own spelling); other keys are named by :func:`to_upper_snake`.

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
            row[_column(key, names)] = csv_cell(properties.get(key))
        yield row


def _column(key: str, names: Mapping[str, str] | None) -> str:
    if names is not None:
        given = names.get(key)
        if given is not None:
            return given
    return to_upper_snake(key)


def write_interactions_csv(
    stream: IO[str],
    events: Iterable[Event],
    *,
    context: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    names: Mapping[str, str] | None = None,
) -> int:
    """Write events as an Interactions CSV, ready for a dataset import job.

    Args:
        stream: a text stream opened with ``newline=""``.
        events: the events to write, in order.
        context: the ``properties`` keys (camelCase) to write as columns, in this order, named in
            UPPER_SNAKE (``deviceType`` -> ``DEVICE_TYPE``).
        columns: which of :data:`INTERACTIONS_COLUMNS` to write (default: all). ``USER_ID``,
            ``ITEM_ID``, ``TIMESTAMP`` and ``EVENT_TYPE`` are always written.
        names: ``properties`` key -> column name, e.g. ``{f.property_name: f.name for f in
            schema.fields}`` (see :func:`export_rows`).

    Returns:
        The number of rows written (the header excluded).
    """
    chosen = set(INTERACTIONS_COLUMNS if columns is None else columns)
    chosen.update(_REQUIRED_EXPORT_COLUMNS)
    header = [c for c in INTERACTIONS_COLUMNS if c in chosen]
    header.extend(_column(key, names) for key in context)
    writer = csv.DictWriter(stream, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in export_rows(events, context, names):
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
    *,
    other_kinds: dict[str, int] | None = None,
) -> Iterator[ExportLine | tuple[int, str]]:
    """Read the events of a JSON Lines file (dead letters or plain event dicts) for an export.

    Every event must have a user id, an event type and a time (an Interactions dataset row
    needs ``USER_ID``, ``EVENT_TYPE`` and ``TIMESTAMP``) and pass the PutEvents checks; a dead
    letter of an item, a user, an action or an action interaction (its ``kind``) is a problem
    of its line.

    Args:
        path: the file (see :func:`flatten_record` for the accepted shapes).
        other_kinds: where to count the dead letters of other kinds, by kind, instead of
            yielding them as problems (``export --kind interactions`` of a mixed file).

    Yields:
        An :class:`ExportLine` per usable line, or ``(line, problem)`` for one that is not.

    Raises:
        OSError: the file cannot be read.
        BulkFormatError: the file is not JSON Lines at all: its first line is neither JSON nor
            the start of an object (a CSV, say); said once, not once per line.
    """
    fields = FieldMapping({"context": ()})
    first = True
    for number, record in json_objects(path):
        if first and isinstance(record, str) and record.startswith("not valid JSON"):
            _check_json_lines(path, number)
        first = False
        if isinstance(record, str):
            yield number, record
        elif line_kind(record) != "interactions":
            kind = line_kind(record)
            if other_kinds is not None:
                other_kinds[kind] = other_kinds.get(kind, 0) + 1
            else:
                yield number, f"a line of {kind}, not of interactions (export --kind {kind})"
        else:
            yield export_line(number, record, fields)


def _check_json_lines(path: str | os.PathLike[str], number: int) -> None:
    """Raise :class:`BulkFormatError` when line ``number`` (the first) does not start an object."""
    with open(path, encoding="utf-8-sig") as lines:
        text = next(itertools.islice(lines, number - 1, None), "").strip()
    if text.startswith("{"):
        return  # a torn object: a problem of that line only
    kind = "a CSV" if "," in text or str(path).lower().endswith(".csv") else "not JSON"
    raise BulkFormatError(
        f"{path}:{number}: not a JSON Lines file (it looks like {kind}: {text[:60]!r}); export "
        "reads JSON Lines of events (dead letters, 'serve --record' recordings); an "
        "Interactions CSV is already what it writes"
    )


def export_line(
    number: int, record: Mapping[str, Any], fields: FieldMapping
) -> ExportLine | tuple[int, str]:
    """Read one JSON object of a file as an event to export.

    Args:
        number: its 1-based line number.
        record: the object (see :func:`flatten_record` for the accepted shapes).
        fields: how its keys map to event fields (by name, no context columns: a line's
            contextual metadata is its ``properties``).

    Returns:
        The :class:`ExportLine`, or ``(number, problem)`` when the event has no user id, event
        type or time, or a field cannot be read or breaks a PutEvents rule.
    """
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
        return number, str(exc)
    return ExportLine(number, event, None if reason is None else str(reason))
