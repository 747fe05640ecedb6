"""Reading JSON Lines files of events: dead letters, ``serve --record`` recordings, the spool.

:func:`json_objects` reads the lines as JSON objects, a problem text standing in for a line that
is not one; :func:`flatten_record` turns any accepted shape into the event's fields by their
PutEvents names; :func:`read_json_lines` does both, for ``replay``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["flatten_record", "json_objects", "line_kind", "read_json_lines"]

# Keys of a dead-letter line that describe the failure, not the event.
_DEAD_LETTER_META = ("failedAt", "reason", "errorCode", "message", "trackingId")


def json_objects(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Stream the non-blank lines of a JSON Lines file as JSON objects.

    Args:
        path: the file (UTF-8, a byte-order mark is ignored); blank lines are skipped.

    Yields:
        ``(line, object)`` with the 1-based line number, or ``(line, problem)`` for a line that
        is not a JSON object: ``"not valid JSON (<why> at column <n>)"`` (a torn last line, say)
        or ``"a JSON <type>, not an object"``.

    Raises:
        OSError: the file cannot be read.
    """
    with Path(path).open(encoding="utf-8-sig") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            if isinstance(record, dict):
                yield number, record
            else:
                yield number, f"a JSON {type(record).__name__}, not an object"


def line_kind(record: Mapping[str, Any]) -> str:
    """The kind of a JSON Lines record: its ``kind`` (``"items"``, ``"users"``, ``"actions"``,
    ``"action_interactions"``: a dead letter of one of these) or ``"interactions"`` for an
    event (a dead letter without a ``kind``, or a plain event dict)."""
    kind = record.get("kind")
    return kind if isinstance(kind, str) and kind else "interactions"


def flatten_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Return the event fields of a JSON Lines record, whichever accepted shape it has.

    Accepted: a dead-letter line (``{"reason": ..., "sessionId": ..., "userId": ...,
    "event": {...}}``, as ``Tracker(dead_letter_path=...)`` writes), or an event dict with the
    PutEvents names plus ``sessionId`` and ``userId`` (as the spool and ``serve --record`` write,
    :meth:`Event.to_dict`'s shape). ``metricAttribution`` becomes ``metricAttributionSource``;
    the failure details of a dead letter and ``trackingId`` are left out.
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
    for count, (number, record) in enumerate(json_objects(path), start=1):
        yield number, record if isinstance(record, str) else flatten_record(record)
        if limit is not None and count >= limit:
            return
