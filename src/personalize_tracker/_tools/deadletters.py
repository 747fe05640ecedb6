"""Reading a dead-letter file back: every event the Tracker gave up on, one JSON line each.

Each line is a JSON object::

    {"failedAt": 1790000000.123, "reason": "invalid", "errorCode": "InvalidInputException",
     "message": "...", "trackingId": "...", "sessionId": "...", "userId": "...",
     "event": {"eventId": "...", "eventType": "...", "sentAt": 1714564800.123, ...}}

``event`` is the PutEvents event as it was (or would have been) sent; with ``sessionId`` and
``userId`` it is :meth:`Event.to_dict`'s shape, read back with :meth:`Event.from_dict`. The same
file holds the dead letters of items, users, actions and action interactions (a line with a
``kind``, see ``docs/items-users-actions.md``): read as :class:`OtherKind`, not as events. The
Tracker appends lines with one ``write`` system call each (``Tracker(dead_letter_path=...)``): a
crash loses at most the line being written, and this reader reports a torn last line as a
:class:`BadLine` instead of stopping.

Used by ``personalize-tracker resend`` and ``export``; nothing here needs click.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs

from .. import Event, FailureReason

__all__ = ["BadLine", "DeadLetter", "FileKind", "OtherKind", "file_kind", "read_dead_letters"]

#: What :func:`file_kind` finds: dead letters, plain events (``serve --record``, the spool, an
#: export's input), an empty file, or something else.
FileKind = Literal["dead letters", "events", "empty", "other"]

# Lines looked at to tell the kind of a file.
_KIND_SAMPLE = 20


@attrs.frozen
class DeadLetter:
    """One line of a dead-letter file.

    Attributes:
        line: 1-based line number in the file.
        event: the event, rebuilt and validated again.
        reason: why it failed (a :class:`FailureReason` value, e.g. ``"invalid"``).
        error_code: the AWS error code, or None.
        message: the error message, or None.
        tracking_id: the event tracker it was meant for.
        failed_at: epoch seconds when it failed.
    """

    line: int
    event: Event
    reason: str
    error_code: str | None
    message: str | None
    tracking_id: str | None
    failed_at: float | None

    @property
    def invalid(self) -> bool:
        """Whether the service rejected the event itself: resending it unchanged fails again."""
        return self.reason == FailureReason.INVALID.value


@attrs.frozen
class BadLine:
    """A line of a dead-letter file that could not be read back.

    Attributes:
        line: 1-based line number.
        problem: what is wrong with it (torn JSON, a missing field, a field that breaks a
            PutEvents rule), as ``"<exception type>: <message>"``.
    """

    line: int
    problem: str


@attrs.frozen
class OtherKind:
    """A dead letter of an item, a user, an action or an action interaction: a line with a
    ``kind`` (``"items"``...), written to the same file as the events'. Not an event: the bulk
    path sends it again (``personalize-tracker export --kind items``, then ``replay``).

    Attributes:
        line: 1-based line number.
        kind: the line's ``kind``.
    """

    line: int
    kind: str


def read_dead_letters(
    path: str | os.PathLike[str],
) -> Iterator[DeadLetter | OtherKind | BadLine]:
    """Read a dead-letter file line by line (streaming; memory stays small).

    Blank lines are skipped.

    Args:
        path: the file (UTF-8 JSON Lines, as written by ``Tracker(dead_letter_path=...)``).

    Yields:
        A :class:`DeadLetter` per readable line of an event, an :class:`OtherKind` per line of
        another kind, and a :class:`BadLine` per line that is not readable (a torn last line
        after a crash, an edited line that no longer validates), in file order.

    Raises:
        OSError: the file cannot be opened or read.
    """
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if text.strip():
                yield read_dead_letter(number, text)


def file_kind(path: str | os.PathLike[str]) -> FileKind:
    """Tell what a JSON Lines file holds, from its first readable lines (a few at most).

    Returns:
        ``"dead letters"`` when a line has an ``event`` object, or a ``kind`` and a ``record``
        object (``Tracker(dead_letter_path=...)`` writes them); ``"events"`` when lines are
        events themselves (an ``eventType`` key: a ``serve --record`` recording, the spool);
        ``"empty"`` for no non-blank line; ``"other"`` when the first lines are neither (not
        JSON, a CSV, other objects).

    Raises:
        OSError: the file cannot be read.
    """
    seen = 0
    with open(path, encoding="utf-8-sig") as lines:
        for text in lines:
            if not text.strip():
                continue
            seen += 1
            if seen > _KIND_SAMPLE:
                break
            try:
                record = json.loads(text)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if isinstance(record.get("event"), Mapping) or _other_kind(record) is not None:
                return "dead letters"
            if "eventType" in record or "event_type" in record or "EVENT_TYPE" in record:
                return "events"
    return "empty" if seen == 0 else "other"


def _other_kind(record: Mapping[str, Any]) -> str | None:
    """The ``kind`` of a dead letter of an item, a user...; ``None`` for an event's line."""
    kind = record.get("kind")
    if isinstance(kind, str) and kind and isinstance(record.get("record"), Mapping):
        return kind
    return None


def read_dead_letter(number: int, text: str) -> DeadLetter | OtherKind | BadLine:
    """Read one line of a dead-letter file.

    Args:
        number: its 1-based line number, for the result.
        text: the line (a JSON object, see the module docstring).

    Returns:
        The :class:`DeadLetter`, with its event validated again as ``track()`` would; an
        :class:`OtherKind` for a dead letter of an item, a user...; or a :class:`BadLine` when
        the line is not JSON, lacks ``event``, ``sessionId`` or an event field
        :meth:`Event.from_dict` needs, or holds a field that breaks a PutEvents rule.
    """
    try:
        record: dict[str, Any] = json.loads(text)
        kind = _other_kind(record) if isinstance(record, dict) else None
        if kind is not None:
            return OtherKind(number, kind)
        event = Event.from_dict(_event_record(record), validate=True)
    except (ValueError, KeyError, TypeError) as exc:  # InvalidEventError is a ValueError
        return BadLine(number, f"{type(exc).__name__}: {exc}")
    return DeadLetter(
        line=number,
        event=event,
        reason=str(record.get("reason") or "unknown"),
        error_code=record.get("errorCode"),
        message=record.get("message"),
        tracking_id=record.get("trackingId"),
        failed_at=record.get("failedAt"),
    )


def _event_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The line's ``event`` with its ``sessionId`` and ``userId``: :meth:`Event.to_dict`'s shape.

    Raises:
        KeyError: no ``event`` or no ``sessionId``.
        TypeError, ValueError: ``event`` is not a JSON object, or the line is not one.
    """
    event_record = dict(record["event"])
    event_record["sessionId"] = record["sessionId"]
    if record.get("userId") is not None:
        event_record["userId"] = record["userId"]
    return event_record
