"""Where recommendation lists wait between the requests of one visitor."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

from ..recommendations import Recommendations
from ..session import DEFAULT_RECOMMENDATION_MEMORY, DEFAULT_RECOMMENDATION_TTL

__all__ = ["MemoryRecommendationStore", "RecommendationStore"]


class RecommendationStore(Protocol):
    """Where recommendation lists wait between requests, keyed by session id.

    A :class:`~personalize_tracker.TrackingSession` remembers the lists it fetched, so a click
    on one of their items carries the list's ``recommendationId``; but a web request gets a new
    session object, and the click usually comes in a later request. The integrations save every
    list a request fetches here and hand the live ones to the next request's session.

    Implementations must be thread-safe. Errors they raise are logged and counted, never
    propagated to the request.
    """

    def load(self, session_id: str) -> Sequence[Recommendations]:
        """The lists saved for ``session_id`` that have not expired, oldest first."""
        ...

    def save(self, session_id: str, recommendations: Recommendations) -> None:
        """Save a list for ``session_id`` (replacing one with the same ``recommendation_id``)."""
        ...


class MemoryRecommendationStore:
    """A :class:`RecommendationStore` in this process's memory (the default).

    Per process: with several worker processes, a list fetched in one is not known to the
    others, so a click served by another worker carries no ``recommendationId``. Use sticky
    sessions, or a store shared by the workers (e.g. on Redis) implementing the protocol.

    Args:
        max_sessions: sessions kept at most (>= 1); the least recently used is forgotten first.
        max_lists: lists kept per session (>= 1); the oldest is forgotten first.
        ttl: seconds a list stays usable after it was fetched (> 0).
        clock: monotonic clock in seconds (for tests).

    Raises:
        ValueError: an argument is out of range.
    """

    def __init__(
        self,
        max_sessions: int = 10_000,
        max_lists: int = DEFAULT_RECOMMENDATION_MEMORY,
        ttl: float = DEFAULT_RECOMMENDATION_TTL,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if max_sessions < 1 or max_lists < 1:
            raise ValueError("max_sessions and max_lists must be >= 1")
        if not ttl > 0:
            raise ValueError(f"ttl must be a number of seconds > 0, got {ttl!r}")
        import time

        self.max_sessions = max_sessions
        self.max_lists = max_lists
        self.ttl = float(ttl)
        self._clock = clock if clock is not None else time.monotonic
        self._lock = threading.Lock()
        self._lists: OrderedDict[str, list[tuple[float, Recommendations]]] = OrderedDict()

    def load(self, session_id: str) -> list[Recommendations]:
        """The live lists of ``session_id``, oldest first (expired ones are forgotten)."""
        now = self._clock()
        with self._lock:
            entries = self._lists.get(session_id)
            if entries is None:
                return []
            live = [(expires, recs) for expires, recs in entries if expires > now]
            if live:
                self._lists[session_id] = live
                self._lists.move_to_end(session_id)
            else:
                del self._lists[session_id]
            return [recs for _, recs in live]

    def save(self, session_id: str, recommendations: Recommendations) -> None:
        """Keep ``recommendations`` for ``ttl`` seconds (a list already kept keeps its expiry)."""
        rid = recommendations.recommendation_id
        if rid is None or not recommendations.item_ids:
            return
        plain = Recommendations(
            recommendations.item_ids,
            recommendations.scores,
            rid,
            recommendations.shown_item_ids,
        )
        with self._lock:
            entries = self._lists.setdefault(session_id, [])
            self._lists.move_to_end(session_id)
            for index, (expires, old) in enumerate(entries):
                if old.recommendation_id == rid:
                    entries[index] = (expires, plain)
                    break
            else:
                entries.append((self._clock() + self.ttl, plain))
                del entries[: -self.max_lists]
            while len(self._lists) > self.max_sessions:
                self._lists.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._lists)
