"""The leak guard: no Tracker created inside a mock sends anywhere after the mock ended.

A Tracker that outlives ``mock_personalize_events()`` would flush its events at interpreter exit,
when moto no longer intercepts anything: to the real endpoint, with whatever credentials the
machine has. So when a mock (or a local server) ends, every Tracker created while it ran and still
open is closed against the fake, while the fake still answers, and a
:class:`LeakedTrackerWarning` names it and says what became of its events.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any, Protocol

from .. import _lifecycle

__all__ = ["LeakGuard", "LeakedTrackerWarning"]

#: Seconds a leaked Tracker gets to deliver its events to the fake when it is closed.
LEAK_CLOSE_TIMEOUT = 5.0


class LeakedTrackerWarning(UserWarning):
    """A Tracker created inside a mock was still open when the mock ended; it was closed
    against the fake. Close Trackers (or use ``with Tracker(...)``) inside the block."""


class _Owner(Protocol):
    """What the guard uses of an open Tracker's pipeline (the owner of its exit hook)."""

    name: str

    def stats(self) -> Any: ...

    def close(self, timeout: float | None) -> None: ...


class LeakGuard:
    """Remembers the Trackers open when a mock starts; :meth:`close_leaks` closes the others.

    Args:
        where: what the mock is called in warnings, e.g. ``"mock_personalize_events()"``.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self._before: weakref.WeakSet[Any] = weakref.WeakSet(_lifecycle.owners())

    def close_leaks(self, timeout: float = LEAK_CLOSE_TIMEOUT) -> int:
        """Close every Tracker opened since the guard was made and still open, warning once per
        Tracker with a :class:`LeakedTrackerWarning`.

        Args:
            timeout: seconds each gets to deliver its events (to the fake) before what is left
                fails with reason ``closed``.

        Returns:
            How many Trackers were closed.
        """
        leaked: list[_Owner] = [o for o in _lifecycle.owners() if o not in self._before]
        for owner in leaked:
            owner.close(timeout)
            stats = owner.stats()
            transport = getattr(owner, "transport", None)
            tracking_id = getattr(transport, "tracking_id", None)
            who = f"tracking id {tracking_id!r}" if tracking_id is not None else owner.name
            warnings.warn(
                LeakedTrackerWarning(
                    f"a Tracker ({who}) created inside {self.where} was still open when it "
                    f"ended; closed against the fake: {stats.tracked} tracked, "
                    f"{stats.delivered} delivered, {stats.failed} failed, {stats.dropped} "
                    "dropped. Close it inside the block (or use 'with Tracker(...)') so it "
                    "never sends outside the fake."
                ),
                stacklevel=4,
            )
        return len(leaked)
