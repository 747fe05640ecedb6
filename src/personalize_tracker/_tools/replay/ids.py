"""Stable event ids for a replay, so that running the same input again is harmless.

PutEvents' ``eventId`` (1-256 characters) identifies an event: "Amazon Personalize uses the
event ID to distinguish unique events. Any subsequent events after the first with the same
event ID are not used in model training" (the ``Event`` shape's documentation in the service
model, ``personalize-events``). So a row replayed twice (a rerun after a crash, a second try of
a half-sent file) is not counted twice when both sends carry the same id. A replay therefore
gives each row without its own id one computed from what identifies the row: the input's
namespace, the row's position in the input and its content.
"""

from __future__ import annotations

import hashlib
import json

from ..bulk.fields import RowFields

__all__ = ["STABLE_ID_PREFIX", "stable_event_id"]

#: The start of an id :func:`stable_event_id` makes (``rp-`` and 64 hex digits: 67 characters,
#: within PutEvents' 256 for ``eventId``).
STABLE_ID_PREFIX = "rp-"


def stable_event_id(namespace: str, position: int, fields: RowFields) -> str:
    """The ``eventId`` of a replayed row: ``rp-`` + SHA-256 of namespace, position and content.

    Args:
        namespace: what tells inputs apart (the CLI: the file's name; ``replay()``: its
            ``id_namespace``, ``""`` by default).
        position: the row's 0-based position in the input (so that two equal rows, e.g. the
            same rating given twice in one second, stay two events).
        fields: the row as read (user, item, event type, time, value, impression,
            recommendation id, properties...), so that an edited row is a new event.

    Returns:
        67 characters: the same for the same arguments, in any process and on any machine.
    """
    content = [
        namespace,
        position,
        fields.user_id,
        fields.session_id,
        fields.item_id,
        fields.event_type,
        None if fields.sent_at is None else repr(float(fields.sent_at)),
        None if fields.event_value is None else repr(float(fields.event_value)),
        None if fields.impression is None else list(fields.impression),
        fields.recommendation_id,
        fields.properties,
        fields.metric_attribution_source,
    ]
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=repr)
    return STABLE_ID_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()
