"""Events as JSON objects, for the spool and the dead-letter file.

The shape is the PutEvents event as sent (``eventId``, ``eventType``, ``sentAt`` as epoch seconds,
…) plus the call's ``sessionId`` and ``userId``, so that a line can be read by people and tools
that know the API, and sent again unchanged.
"""

from __future__ import annotations

from typing import Any

from ._event import Event

__all__ = ["event_from_dict", "event_to_dict"]


def event_to_dict(event: Event) -> dict[str, Any]:
    """:meth:`Event.to_dict`."""
    return event.to_dict()


def event_from_dict(record: dict[str, Any], *, validate: bool = True) -> Event:
    """:meth:`Event.from_dict`."""
    return Event.from_dict(record, validate=validate)
