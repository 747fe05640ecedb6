"""``personalize_tracker.replay()``: send a table of past interactions through a Tracker.

- :mod:`.loop`: :func:`replay` (and :func:`replay_rows`, what the command line adds): track
  every row, paced on the Tracker's queue, then flush.
- :mod:`.rows`: the input as rows, read into event fields and cut into sessions.
- :mod:`.summary`: :class:`ReplaySummary`, :class:`BadRow` and :class:`ReplaySample`.

``personalize_tracker.replay``, ``BadRow``, ``ReplaySample`` and ``ReplaySummary`` are these,
imported on first use.
"""

from __future__ import annotations

from .loop import DEFAULT_SESSION_GAP_MINUTES, replay, replay_rows
from .rows import MAX_BAD_ROWS_KEPT
from .summary import BadRow, ReplaySample, ReplaySummary

__all__ = [
    "DEFAULT_SESSION_GAP_MINUTES",
    "MAX_BAD_ROWS_KEPT",
    "BadRow",
    "ReplaySample",
    "ReplaySummary",
    "replay",
    "replay_rows",
]
