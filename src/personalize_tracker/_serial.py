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
    """Return the event as a JSON-ready dict: the PutEvents event plus sessionId and userId."""
    record = event.to_put_events()
    record["sessionId"] = event.session_id
    if event.user_id is not None:
        record["userId"] = event.user_id
    return record


def event_from_dict(record: dict[str, Any], *, validate: bool = True) -> Event:
    """Rebuild an Event from :func:`event_to_dict`'s shape.

    Args:
        record: the dict.
        validate: check every field again with :meth:`Event.create` (for files a person may
            have edited); False trusts the record (the spool, written by this library).

    Raises:
        KeyError: ``eventType``, ``sessionId``, ``eventId`` or ``sentAt`` is missing.
        InvalidEventError: with ``validate``, a field breaks a PutEvents rule.
    """
    attribution = record.get("metricAttribution") or {}
    impression = record.get("impression")
    fields: dict[str, Any] = {
        "user_id": record.get("userId"),
        "item_id": record.get("itemId"),
        "event_value": record.get("eventValue"),
        "properties": record.get("properties"),
        "sent_at": record["sentAt"],
        "event_id": record["eventId"],
        "recommendation_id": record.get("recommendationId"),
        "impression": None if impression is None else tuple(impression),
        "metric_attribution_source": attribution.get("eventAttributionSource"),
    }
    if validate:
        return Event.create(record["eventType"], record["sessionId"], **fields)
    return Event(event_type=record["eventType"], session_id=record["sessionId"], **fields)
