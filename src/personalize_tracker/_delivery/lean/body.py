"""The PutEvents request body, written from validated events as botocore's rest-json serializer
writes it for the same parameters: the same JSON text, byte for byte.

botocore 1.44 (``botocore/serialize.py``) serialises a rest-json body with ``json.dumps(body)``
(default separators, ASCII escapes), members in the order the parameters give them, a
``timestamp`` member as epoch seconds with milliseconds when the serializer's precision is
``"millisecond"`` (``_timestamp_unixtimestamp``: whole seconds plus ``(microsecond // 1000) /
1000.0``), and a ``float`` member through ``_handle_float`` (NaN and infinities as the strings
``"NaN"``, ``"Infinity"``, ``"-Infinity"``). ``tests/delivery/lean/test_equivalence.py`` compares
the bytes with what a botocore client sends.
"""

from __future__ import annotations

import calendar
import json
import math
from collections.abc import Sequence
from typing import Any

import botocore.utils

from ..._record.event import Event
from ..._record.shared import GroupKey
from ..putevents import put_events_params

__all__ = ["put_events_body", "wire_float", "wire_timestamp"]

# The datetime range (years 1 to 9999) in epoch seconds: botocore turns a timestamp into a
# datetime first, so a value outside it cannot be sent.
_FIRST_SECOND = -62_135_596_800
_LAST_SECOND = 253_402_300_799
_dumps = json.dumps
_modf = math.modf


def wire_timestamp(value: Any) -> float:
    """A ``timestamp`` member as botocore writes it with millisecond precision: epoch seconds.

    A number is read as ``datetime.fromtimestamp(value, UTC)`` reads it (microseconds rounded
    half to even), then cut to milliseconds as ``_timestamp_unixtimestamp`` does; anything else
    (a datetime, an ISO 8601 string) goes through botocore's ``parse_to_aware_datetime`` first.

    Args:
        value: epoch seconds (``float``/``int``), a ``datetime`` or a string botocore parses.

    Returns:
        float: whole seconds plus milliseconds / 1000.0 (the same float botocore computes).

    Raises:
        ValueError: the value is not a timestamp in the years 1-9999 (NaN, infinite, out of
            range, unparsable): the record's own fault (see ``putevents.send_error``).
    """
    if type(value) is float or type(value) is int:
        if not _FIRST_SECOND - 1 < value < _LAST_SECOND + 1:  # also NaN and infinities
            raise ValueError(f"sentAt {value!r} is out of range for a timestamp")
        frac, whole = _modf(value)
        micro = round(frac * 1e6)
        if micro >= 1_000_000:
            whole, micro = whole + 1, micro - 1_000_000
        elif micro < 0:
            whole, micro = whole - 1, micro + 1_000_000
        seconds = int(whole)
        if seconds < _FIRST_SECOND:
            raise ValueError(f"sentAt {value!r} is out of range for a timestamp")
        return seconds + (micro // 1000) / 1000.0
    try:
        moment = botocore.utils.parse_to_aware_datetime(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"sentAt {value!r} is not a timestamp: {exc}") from None
    return calendar.timegm(moment.timetuple()) + (moment.microsecond // 1000) / 1000.0


def wire_float(value: Any) -> Any:
    """A ``float`` member as botocore's JSON serializer writes it (``_handle_float``)."""
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    if value != value:
        return "NaN"
    return value


def _wire_entry(event: Event) -> dict[str, Any]:
    """One ``eventList`` entry as the serializer sees it: ``Event.to_put_events()`` (the same
    keys in the same order) with ``sentAt`` and ``eventValue`` in their wire form."""
    entry = event.to_put_events()
    entry["sentAt"] = wire_timestamp(entry["sentAt"])
    value = entry.get("eventValue")
    if value is not None and type(value) is not int:
        entry["eventValue"] = wire_float(value)
    return entry


def put_events_body(tracking_id: str, key: GroupKey, records: Sequence[Event]) -> bytes:
    """The body of one PutEvents call: the parameters ``PutEventsTransport`` passes to
    ``put_events`` (same order: ``putevents.put_events_params``), serialised as botocore does.

    Args:
        tracking_id: the event tracker's ``trackingId``.
        key: the call's ``(userId, sessionId)``; a None ``userId`` is left out.
        records: 1-10 events of that group.

    Returns:
        bytes: UTF-8 JSON (ASCII, since non-ASCII characters are escaped as botocore escapes them).

    Raises:
        ValueError: an event's ``sentAt`` cannot be sent (see :func:`wire_timestamp`).
    """
    params = put_events_params(tracking_id, key, records, _wire_entry)
    return _dumps(params).encode()
