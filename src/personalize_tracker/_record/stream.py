"""The stream record format: one event as the data of one Amazon Kinesis record, versioned.

A producer (``KinesisTransport``) writes each event as one record whose data is a UTF-8 JSON
object, and whose partition key is the event's ``sessionId`` (so one session's events map to one
shard). Version 1 of the format::

    {"v": 1,
     "sessionId": "s-1",            # the PutEvents call's sessionId
     "userId": "u-1",               # the call's userId; absent for an anonymous visitor
     "event": {"eventId": "...", "eventType": "click", "sentAt": 1700000000.123, ...}}

``event`` is the PutEvents ``eventList`` entry exactly as the in-process Tracker sends it (the
API's member names; ``sentAt`` in epoch seconds, a float). A consumer reads a record with
:func:`decode_record`: a record it cannot read raises :class:`StreamRecordError` with a reason
(``malformed``, ``unknown_version`` or ``invalid``) and never anything else, so the consumer
can set the record aside instead of crashing on it. Fields are only ever added within a
version; a change a version 1 reader would misread gets a new ``v``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._errors import InvalidEventError
from .event import Event

__all__ = ["FORMAT_VERSION", "StreamRecordError", "decode_record", "encode_record"]

#: The version of the record format written by :func:`encode_record`.
FORMAT_VERSION = 1
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class StreamRecordError(ValueError):
    """A stream record that cannot be read as an event.

    Attributes:
        reason: ``"malformed"`` (not a UTF-8 JSON object of the documented shape),
            ``"unknown_version"`` (a ``v`` this library does not read) or ``"invalid"`` (the
            event breaks a PutEvents rule: the message names the field).
        message: what is wrong, without the record's values.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def encode_record(event: Event) -> bytes:
    """The data of ``event``'s stream record (format version 1), as UTF-8 JSON bytes.

    At most about 40 KB for an event at every PutEvents maximum (well under Kinesis's 1 MiB per
    record); typically 150-400 bytes.
    """
    record: dict[str, Any] = {"v": FORMAT_VERSION, "sessionId": event.session_id}
    if event.user_id is not None:
        record["userId"] = event.user_id
    record["event"] = event.to_put_events()
    return _dumps(record).encode()


def decode_record(data: bytes) -> Event:
    """Read one stream record's data back into a validated :class:`Event`.

    Args:
        data: the record's data (already base64-decoded, as boto3's ``get_records`` returns it).

    Every field is checked again as ``track()`` checks it: a record on a stream may come from
    any writer.

    Raises:
        StreamRecordError: the record cannot be read (see its ``reason``).
    """
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise StreamRecordError("malformed", f"not UTF-8 JSON ({type(exc).__name__})") from None
    if not isinstance(record, Mapping):
        raise StreamRecordError("malformed", f"a JSON {type(record).__name__}, not an object")
    version = record.get("v")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise StreamRecordError(
            "unknown_version",
            f"format version {version!r}; this reader reads version {FORMAT_VERSION}",
        )
    event = record.get("event")
    if not isinstance(event, Mapping):
        raise StreamRecordError("malformed", "'event' is missing or not an object")
    fields = dict(event)
    fields["sessionId"] = record.get("sessionId")
    fields["userId"] = record.get("userId")
    try:
        return Event.from_dict(fields, validate=True)
    except KeyError as exc:
        raise StreamRecordError("malformed", f"the event has no {exc.args[0]!r}") from None
    except InvalidEventError as exc:
        raise StreamRecordError("invalid", str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise StreamRecordError("invalid", f"{type(exc).__name__}: {exc}") from None
