"""The demo's check of what the local endpoint received against what was tracked.

:func:`check_delivery` compares the events tracked (by event id) with the events the endpoint
accepted: each id exactly once, with the fields it was tracked with. Pure: it reads the records
the testing extension keeps, and imports nothing of it at run time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from ... import Event
from ..backfill import MAX_SAMPLES

if TYPE_CHECKING:
    from ...testing import RecordedEvent, RecordedRequest

__all__ = ["DeliveryCheck", "check_delivery"]


@attrs.frozen
class DeliveryCheck:
    """How the events an endpoint received compare with the events tracked.

    Attributes:
        expected: events tracked (each with its own event id).
        received: events the endpoint accepted, repeats included.
        missing: tracked event ids the endpoint never accepted.
        duplicated: extra copies received of an event id (received n times counts n - 1).
        unexpected: received events whose id was not tracked (or had none).
        mismatched: received events whose id was tracked but whose fields differ (tracking id,
            event type, user id, session id, item id, event value, or sent_at to the
            millisecond).
        calls: PutEvents calls the endpoint received.
        rejected_calls: of those, calls answered with an error.
        samples: a few descriptions of problems, for the summary.
    """

    expected: int
    received: int
    missing: int
    duplicated: int
    unexpected: int
    mismatched: int
    calls: int
    rejected_calls: int
    samples: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True when the endpoint accepted exactly the tracked events, once each, unchanged."""
        return (
            self.received == self.expected
            and not self.missing
            and not self.duplicated
            and not self.unexpected
            and not self.mismatched
        )


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def _differences(tracking_id: str, sent: Event, got: RecordedEvent) -> list[str]:
    pairs: list[tuple[str, object, object]] = [
        ("tracking_id", tracking_id, got.tracking_id),
        ("event_type", sent.event_type, got.event_type),
        ("user_id", sent.user_id, got.user_id),
        ("session_id", sent.session_id, got.session_id),
        ("item_id", sent.item_id, got.item_id),
        ("event_value", sent.event_value, got.event_value),
        ("sent_at (ms)", _millis(sent.sent_at), _millis(got.sent_at)),
    ]
    return [f"{name} {a!r} != {b!r}" for name, a, b in pairs if a != b]


def check_delivery(
    tracking_id: str,
    expected: Mapping[str, Event],
    received: Sequence[RecordedEvent],
    requests: Sequence[RecordedRequest] = (),
) -> DeliveryCheck:
    """Compare the events tracked with the events an endpoint accepted.

    The two must hold the same multiset of event ids (each id once), and every received event
    must carry the fields it was tracked with.

    Args:
        tracking_id: the tracking id the events were sent with.
        expected: the tracked events by event id.
        received: the events the endpoint accepted (``handle.events``).
        requests: the calls the endpoint received (``handle.requests``), to count PutEvents calls
            and rejected ones.

    Returns:
        The :class:`DeliveryCheck`.
    """
    seen = Counter(event.event_id for event in received)
    samples: list[str] = []

    def note(text: str) -> None:
        if len(samples) < 3 * MAX_SAMPLES:
            samples.append(text)

    missing = [event_id for event_id in expected if event_id not in seen]
    for event_id in missing[:MAX_SAMPLES]:
        note(f"missing: event {event_id}")
    duplicated = 0
    for received_id, times in seen.items():
        if times > 1:
            duplicated += times - 1
            note(f"duplicated: event {received_id} received {times} times")
    unexpected = mismatched = 0
    for got in received:
        sent = None if got.event_id is None else expected.get(got.event_id)
        if sent is None:
            unexpected += 1
            note(f"unexpected: event {got.event_id} (session {got.session_id}) was not tracked")
            continue
        differences = _differences(tracking_id, sent, got)
        if differences:
            mismatched += 1
            note(f"mismatch: event {got.event_id}: {'; '.join(differences)}")
    put_events = [request for request in requests if request.operation == "PutEvents"]
    return DeliveryCheck(
        expected=len(expected),
        received=len(received),
        missing=len(missing),
        duplicated=duplicated,
        unexpected=unexpected,
        mismatched=mismatched,
        calls=len(put_events),
        rejected_calls=sum(1 for request in put_events if request.status != 200),
        samples=tuple(samples),
    )
