"""Sending a dead-letter file again (``personalize-tracker resend``)."""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs

from ..tracker import Tracker
from .deadletters import BadLine, read_dead_letters

__all__ = ["ResendSummary", "dead_letter_tracking_ids", "resend_dead_letters"]


@attrs.define
class ResendSummary:
    """What a resend did. Counts are events (lines) unless named otherwise.

    Attributes:
        read: readable lines.
        resent: events tracked again.
        skipped_invalid: events the service had rejected as invalid, not resent.
        bad_lines: lines that could not be read back, as :class:`BadLine` records.
    """

    read: int = 0
    resent: int = 0
    skipped_invalid: int = 0
    bad_lines: list[BadLine] = attrs.field(factory=list)


def dead_letter_tracking_ids(path: str | os.PathLike[str]) -> set[str]:
    """The tracking ids named in a dead-letter file (usually one).

    Raises:
        OSError: the file cannot be read.
    """
    ids: set[str] = set()
    for letter in read_dead_letters(path):
        if not isinstance(letter, BadLine) and letter.tracking_id:
            ids.add(letter.tracking_id)
    return ids


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
    service rejected them, and would again. The caller flushes or closes the tracker afterwards;
    events that fail again go where the tracker sends failures (its own dead-letter file).

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
