"""Exceptions raised by personalize-tracker."""

from __future__ import annotations

__all__ = ["InvalidEventError", "TrackerClosedError"]


class InvalidEventError(ValueError):
    """An event argument breaks a PutEvents rule; raised by ``track()`` before anything is queued.

    Attributes:
        field: the ``track()`` argument at fault, in snake_case (``"properties"``,
            ``"impression[3]"``, ``"properties.deviceType"``).
        problem: what is wrong with the value, in words.
        limit: the rule it breaks and where that rule comes from (the PutEvents API), or ``None``.

    The message never repeats the value of a sensitive field (user ids, item ids, properties),
    only its type or length, so it is safe to log.
    """

    field: str
    problem: str
    limit: str | None

    def __init__(self, field: str, problem: str, limit: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.limit = limit
        message = f"{field}: {problem}"
        if limit:
            message += f" (limit: {limit})"
        super().__init__(message)


class TrackerClosedError(RuntimeError):
    """``track()`` (or ``flush()``) was called on a Tracker after ``close()``."""
