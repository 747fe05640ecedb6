"""What was delivered, counted for the readiness report: interactions, users with two or more,
events per event type, events carrying impressions, distinct items.

Memory is bounded: at most ``max_users`` users and ``max_items`` item ids are remembered (about
100 bytes each, the id strings being shared with the events); past either cap, new users or
items are not counted and the snapshot says so (its counts are then lower bounds). Event types
beyond ``max_event_types`` are counted together under ``None``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs

__all__ = ["DeliveredTally", "TallySnapshot"]


class _Interaction(Protocol):
    """What the tally reads of a delivered record (an ``Event``)."""

    @property
    def event_type(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def item_id(self) -> str | None: ...
    @property
    def impression(self) -> tuple[str, ...] | None: ...
    @property
    def recommendation_id(self) -> str | None: ...


@attrs.frozen
class TallySnapshot:
    """The counts of a :class:`DeliveredTally` at one moment.

    Attributes:
        interactions: delivered events with an item id (item interactions).
        users: distinct user ids among them (anonymous events are not counted per user).
        users_with_two: users with two or more of them.
        event_types: interactions per event type (``None``: types past the cap).
        impressions: interactions carrying explicit (``impression``) or implicit
            (``recommendation_id``) impressions.
        items: distinct item ids among them.
        capped: True when a cap was reached: ``users``, ``users_with_two`` and ``items`` are
            then lower bounds.
    """

    interactions: int = 0
    users: int = 0
    users_with_two: int = 0
    event_types: Mapping[str | None, int] = attrs.field(factory=dict)
    impressions: int = 0
    items: int = 0
    capped: bool = False


class DeliveredTally:
    """Counts delivered events (see the module's note on memory).

    Args:
        max_users: users remembered at most (>= 0).
        max_items: item ids remembered at most (>= 0).
        max_event_types: event types counted apart at most (>= 0).

    Thread-safe: one small lock, renewed in a forked child (which starts with the parent's
    counts: they describe what the dataset group received).
    """

    def __init__(
        self, max_users: int = 100_000, max_items: int = 100_000, max_event_types: int = 100
    ) -> None:
        self.max_users = max_users
        self.max_items = max_items
        self.max_event_types = max_event_types
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._users: dict[str, int] = {}
        self._items: set[str] = set()
        self._types: dict[str | None, int] = {}
        self._interactions = 0
        self._with_two = 0
        self._impressions = 0
        self._capped = False

    def add(self, records: Sequence[_Interaction]) -> None:
        """Count delivered records (called by the pipeline with each batch's delivered ones)."""
        if self._pid != os.getpid():
            self._lock = threading.Lock()
            self._pid = os.getpid()
        with self._lock:
            for record in records:
                item = record.item_id
                if item is None:
                    continue
                self._interactions += 1
                kind: str | None = record.event_type
                if kind not in self._types and len(self._types) >= self.max_event_types:
                    kind = None
                self._types[kind] = self._types.get(kind, 0) + 1
                if record.impression is not None or record.recommendation_id is not None:
                    self._impressions += 1
                if item not in self._items:
                    if len(self._items) < self.max_items:
                        self._items.add(item)
                    else:
                        self._capped = True
                self._count_user(record.user_id)

    def _count_user(self, user: str | None) -> None:
        if user is None:
            return
        seen = self._users.get(user)
        if seen is None:
            if len(self._users) < self.max_users:
                self._users[user] = 1
            else:
                self._capped = True
        elif seen == 1:
            self._users[user] = 2  # counts stop at 2: that is all readiness asks
            self._with_two += 1

    def snapshot(self) -> TallySnapshot:
        """The counts now (a consistent copy)."""
        with self._lock:
            return TallySnapshot(
                interactions=self._interactions,
                users=len(self._users),
                users_with_two=self._with_two,
                event_types=dict(self._types),
                impressions=self._impressions,
                items=len(self._items),
                capped=self._capped,
            )
