"""What the MovieLens demo and ``replay()`` share as backfills of past interactions.

A backfill produces events far faster than PutEvents takes them (microseconds per ``track()``
against milliseconds per call), so it paces itself on the Tracker's queue (the ``PACE_*``
constants); it counts the fewest calls its sessions could take (:func:`calls_floor`); and it
keeps a few of the failed events for its summary (:class:`FailureLog`), quoted the same way by
every tool (:func:`failure_text`, :func:`failure_record`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from .. import FailedEvent

__all__ = [
    "MAX_SAMPLES",
    "PACE_CHECK_EVERY",
    "PACE_HIGH",
    "PACE_LOW",
    "PACE_POLL",
    "FailureLog",
    "calls_floor",
    "failure_record",
    "failure_text",
]

# Pacing: stop tracking when this share of max_queue_size is pending, resume when pending fell
# to the lower share; poll every PACE_POLL seconds while paused.
PACE_HIGH = 0.9
PACE_LOW = 0.8
PACE_CHECK_EVERY = 100  # events tracked between two looks at stats().pending
PACE_POLL = 0.005  # seconds
#: Problems of each kind quoted in a summary (failed events, delivery-check findings).
MAX_SAMPLES = 5


def calls_floor(events_per_session: Iterable[int]) -> int:
    """Return the fewest PutEvents calls that can carry these sessions: Σ ceil(events / 10).

    A PutEvents call carries one (user, session) and at most 10 events.

    Args:
        events_per_session: the number of events of each (user, session).

    Returns:
        The lower bound on calls (int).
    """
    return sum(-(-count // 10) for count in events_per_session)


class FailureLog:
    """An ``on_failure`` handler that keeps the first :data:`MAX_SAMPLES` failures (thread-safe).

    Attributes:
        samples: the failed (or dropped) events kept, in the order they were reported.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.samples: list[FailedEvent] = []

    def __call__(self, failed: Sequence[FailedEvent]) -> None:
        with self._lock:
            room = MAX_SAMPLES - len(self.samples)
            if room > 0:
                self.samples.extend(failed[:room])


def failure_text(failure: FailedEvent) -> str:
    """Return one line quoting a failed event: ``failure: event <id>: <reason> (<code>: <msg>)``."""
    return (
        f"failure: event {failure.event.event_id}: {failure.reason.value} "
        f"({failure.error_code}: {failure.message})"
    )


def failure_record(failure: FailedEvent) -> dict[str, Any]:
    """Return a failed event as JSON-ready data: ``event_id``, ``reason``, ``error_code``,
    ``message``."""
    return {
        "event_id": failure.event.event_id,
        "reason": failure.reason.value,
        "error_code": failure.error_code,
        "message": failure.message,
    }
