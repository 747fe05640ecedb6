"""Events as an Interactions CSV, ready for a dataset import job (``personalize-tracker export``).

:func:`read_export_events` reads the events of a JSON Lines file (dead letters, recordings) and
checks each can be a dataset row; :func:`write_interactions_csv` writes events as CSV rows, with
:func:`to_upper_snake` naming the contextual-metadata columns.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

import attrs

from ... import Event
from .fields import FieldMapping
from .jsonl_reader import flatten_record, json_objects
from .values import RowError

__all__ = [
    "INTERACTIONS_COLUMNS",
    "ExportLine",
    "export_line",
    "export_rows",
    "read_export_events",
    "to_upper_snake",
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
    for number, record in json_objects(path):
        if isinstance(record, str):
            yield number, record
        else:
            yield export_line(number, record, fields)


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
