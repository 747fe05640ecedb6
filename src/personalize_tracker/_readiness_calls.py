"""The readiness side of the :class:`~personalize_tracker.Tracker` (its base class), apart from
:mod:`personalize_tracker.readiness` so that ``import personalize_tracker`` does not import the
readiness rules and reports: a Tracker given a ``target`` has them imported when its pipeline is
built, and ``Tracker.readiness()`` calls the target's own ``evaluate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .readiness import Counts, Readiness, Target

__all__ = ["ReadinessCalls"]


class _TargetCheck(Protocol):
    @property
    def rules(self) -> Any: ...
    @property
    def counts(self) -> Mapping[str, int]: ...


class _Tally(Protocol):
    def snapshot(self) -> Counts: ...


class _Observed(Protocol):
    """What :class:`ReadinessCalls` reads of a Tracker's pipeline."""

    @property
    def tally(self) -> _Tally | None: ...
    @property
    def target_check(self) -> _TargetCheck | None: ...


class ReadinessCalls:
    """The readiness side of a :class:`~personalize_tracker.Tracker` (its base class): the
    target it was given and the report on what it delivered. A subclass sets ``_pipeline``
    (its tally of delivered events and its target check)."""

    _pipeline: _Observed

    @property
    def target(self) -> Target | None:
        """The ``target`` the Tracker was given, or None."""
        check = self._pipeline.target_check
        return None if check is None else check.rules

    def readiness(self) -> Readiness:
        """Report whether the events delivered so far are enough for each use case or recipe
        of the ``target`` (interactions, users with two or more, events per type...; see
        :class:`Readiness`), with the warnings counted at ``track()``.

        Counts are of this Tracker's deliveries (a forked child starts with its parent's);
        users and items are remembered up to 100,000 each, past which the report gives lower
        bounds (``counts.capped``).

        Raises:
            ValueError: the Tracker has no ``target``.
        """
        check, tally = self._pipeline.target_check, self._pipeline.tally
        if check is None or tally is None:
            raise ValueError("readiness() needs a target: Tracker(..., target=Target.domain(...))")
        target: Target = check.rules
        return target.evaluate(tally.snapshot(), dict(check.counts))
