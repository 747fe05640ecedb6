"""Sending a dead-letter file again (``personalize-tracker resend``)."""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs

from ..tracker import Tracker
from .deadletters import BadLine, DeadLetter, OtherKind, read_dead_letters

__all__ = [
    "DeadLetterScan",
    "ResendSummary",
    "resend_dead_letters",
    "scan_dead_letters",
]


@attrs.define
class ResendSummary:
    """What a resend did. Counts are events (lines) unless named otherwise.

    Attributes:
        read: readable lines.
        resent: events tracked again.
        skipped_invalid: events the service had rejected as invalid, not resent.
        bad_lines: lines that could not be read back, as :class:`BadLine` records.
        other_kinds: dead letters of items, users, actions or action interactions, not resent,
            counted by ``kind`` in the order first seen.
    """

    read: int = 0
    resent: int = 0
    skipped_invalid: int = 0
    bad_lines: list[BadLine] = attrs.field(factory=list)
    other_kinds: dict[str, int] = attrs.field(factory=dict)


@attrs.define
class DeadLetterScan:
    """What a dead-letter file holds, read once before resending it.

    Attributes:
        tracking_ids: the tracking ids its events name (usually one).
        events: readable lines of events.
        other_kinds: lines of items, users, actions or action interactions, by ``kind``.
    """

    tracking_ids: set[str] = attrs.field(factory=set)
    events: int = 0
    other_kinds: dict[str, int] = attrs.field(factory=dict)


def scan_dead_letters(path: str | os.PathLike[str]) -> DeadLetterScan:
    """Read a dead-letter file once: its tracking ids and what kinds of lines it holds.

    Raises:
        OSError: the file cannot be read.
    """
    scan = DeadLetterScan()
    for letter in read_dead_letters(path):
        if isinstance(letter, OtherKind):
            scan.other_kinds[letter.kind] = scan.other_kinds.get(letter.kind, 0) + 1
        elif isinstance(letter, DeadLetter):
            scan.events += 1
            if letter.tracking_id:
                scan.tracking_ids.add(letter.tracking_id)
    return scan


def resend_dead_letters(
    path: str | os.PathLike[str],
    tracker: Tracker,
    *,
    include_invalid: bool = False,
    on_event: Callable[[], object] | None = None,
) -> ResendSummary:
    """Track every event of a dead-letter file again, through ``tracker``.

    Events keep their event ids, so one that did reach Personalize before is ignored in training.
    Events that failed with reason ``invalid`` are skipped unless ``include_invalid``: the
    service rejected them, and would again. Dead letters of items, users, actions and action
    interactions (the same file holds them) are not events: they are counted in the summary's
    ``other_kinds``, not resent, and not counted as unreadable. The caller flushes or closes the
    tracker afterwards; events that fail again go where the tracker sends failures (its own
    dead-letter file).

    Args:
        path: the dead-letter file (JSON Lines, as written by ``Tracker(dead_letter_path=...)``).
        tracker: the Tracker to send through.
        include_invalid: resend events rejected as invalid too.
        on_event: called once per line handled (for a progress bar).

    Raises:
        OSError: the file cannot be read.
        TrackerClosedError: the tracker is closed.
    """
    summary = ResendSummary()
    for letter in read_dead_letters(path):
        if isinstance(letter, BadLine):
            summary.bad_lines.append(letter)
        elif isinstance(letter, OtherKind):
            summary.other_kinds[letter.kind] = summary.other_kinds.get(letter.kind, 0) + 1
        else:
            summary.read += 1
            if letter.invalid and not include_invalid:
                summary.skipped_invalid += 1
            else:
                tracker.enqueue(letter.event)
                summary.resent += 1
        if on_event is not None:
            on_event()
    return summary
