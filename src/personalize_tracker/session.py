"""``TrackingSession``: one visitor's ids, context and recommendation lists, bound to a Tracker."""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ._config import DEFAULT_RECOMMENDATION_MEMORY, DEFAULT_RECOMMENDATION_TTL
from ._limits import LIMITS
from ._record.event import Event
from ._record.fields import check_attribution_source, check_id, check_placeholder
from .recommendations import Recommendations, ranking_params, recommendation_params
from .typing import PropertiesInput, SentAtInput, SessionHost

__all__ = [
    "DEFAULT_RECOMMENDATION_MEMORY",
    "DEFAULT_RECOMMENDATION_TTL",
    "TrackingSession",
]


class _Remembered:
    """A recommendation list a session received, and what was shown of it."""

    __slots__ = ("expires", "ids", "recommendation_id", "shown")

    def __init__(self, recommendation_id: str, item_ids: Iterable[str], expires: float) -> None:
        self.recommendation_id = recommendation_id
        self.ids = frozenset(item_ids)
        self.shown: tuple[str, ...] | None = None
        self.expires = expires


class TrackingSession:
    """One visitor's session: fills in ids, context and attribution for each event.

    Create one with :meth:`Tracker.session` (cheap: one per web request is fine). Its
    :meth:`track` takes the per-event arguments of :meth:`Tracker.track`.

    Args:
        tracker: the Tracker that delivers the events (anything with the
            :class:`~personalize_tracker.typing.SessionHost` members: ``composer``,
            ``enqueue``, ``runtime_client``).
        user_id: the visitor's ``userId`` (str or int, 1-256 characters), or ``None`` while
            anonymous: events then carry the ``sessionId`` alone.
        session_id: the ``sessionId`` (str or int, 1-256 characters); default a new UUID4.
        context: contextual metadata sent with every event (the defaults: an event's
            ``properties`` override them key by key, ``None`` removing one), in the forms
            ``Tracker.track`` accepts for ``properties``. Checked (and encoded) once, here.
        metric_attribution_source: ``metricAttribution.eventAttributionSource`` for the events
            (default: the Tracker's); an event's own argument wins.
        max_recommendations: recommendation lists remembered at most (>= 0; the oldest is
            forgotten first).
        recommendation_ttl: seconds a remembered list stays usable (> 0).
        clock: monotonic clock in seconds (for tests); default ``time.monotonic``.

    Raises:
        InvalidEventError: an id, the context or the attribution source breaks a PutEvents rule
            (or the Tracker's schema), or an id is the text of a missing value (``"null"``…)
            and the Tracker does not allow it.
        ValueError: ``max_recommendations`` or ``recommendation_ttl`` is out of range.

    Thread-safe: :meth:`identify` and the remembered lists take the session's lock; ``track``
    reads the ids without it.
    """

    __slots__ = (
        "_clock",
        "_composer",
        "_context",
        "_context_json",
        "_lock",
        "_memory",
        "_session_id",
        "_source",
        "_tracker",
        "_ttl",
        "_user_id",
    )

    def __init__(
        self,
        tracker: SessionHost,
        user_id: str | int | None = None,
        session_id: str | int | None = None,
        context: PropertiesInput = None,
        metric_attribution_source: str | None = None,
        *,
        max_recommendations: int = DEFAULT_RECOMMENDATION_MEMORY,
        recommendation_ttl: float = DEFAULT_RECOMMENDATION_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (
            isinstance(max_recommendations, bool)
            or not isinstance(max_recommendations, int)
            or max_recommendations < 0
        ):
            raise ValueError(
                f"max_recommendations must be an int >= 0, got {max_recommendations!r}"
            )
        if (
            isinstance(recommendation_ttl, bool)
            or not isinstance(recommendation_ttl, (int, float))
            or not recommendation_ttl > 0
        ):
            raise ValueError(
                f"recommendation_ttl must be a number of seconds > 0, got {recommendation_ttl!r}"
            )
        self._tracker = tracker
        self._session_id = (
            str(uuid.uuid4())
            if session_id is None
            else check_id(session_id, "session_id", LIMITS.session_id_max)
        )
        self._user_id = (
            None if user_id is None else check_id(user_id, "user_id", LIMITS.user_id_max)
        )
        composer = self._composer = tracker.composer  # the Tracker's, for its lifetime
        if not composer.allow_placeholder_ids:  # refused here, not at the session's first event
            check_placeholder(self._session_id, "session_id")
            if self._user_id is not None:
                check_placeholder(self._user_id, "user_id")
        self._context, self._context_json = composer.context(context)
        self._source = (
            composer.metric_attribution_source
            if metric_attribution_source is None
            else check_attribution_source(metric_attribution_source)
        )
        self._lock = threading.Lock()
        self._memory: deque[_Remembered] = deque(maxlen=max_recommendations)
        self._ttl = float(recommendation_ttl)
        self._clock = clock

    # ------------------------------------------------------------------ ids

    @property
    def session_id(self) -> str:
        """The ``sessionId`` every event of this session carries."""
        return self._session_id

    @property
    def user_id(self) -> str | None:
        """The ``userId`` events carry now, or ``None`` while anonymous."""
        return self._user_id

    @property
    def recommendation_user_id(self) -> str:
        """The ``userId`` to ask GetRecommendations with: the user id, else the session id.

        Personalize recommends for an anonymous visitor by the ``sessionId`` its events carry,
        passed as ``userId`` (Amazon Personalize, "Recording events for anonymous users").
        """
        user_id = self._user_id
        return self._session_id if user_id is None else user_id

    @property
    def context(self) -> dict[str, Any]:
        """The session's context as sent: camelCase keys, coerced by the schema (a copy)."""
        return dict(self._context)

    def identify(
        self,
        user_id: str | int,
        event_type: str | None = None,
        *,
        properties: PropertiesInput = None,
        sent_at: SentAtInput = None,
    ) -> Event | None:
        """The login moment: later events carry ``user_id`` with the same ``sessionId``.

        Personalize links the anonymous events of the session to the user through the shared
        ``sessionId``. Nothing is recorded unless ``event_type`` is given.

        Args:
            user_id: the ``userId`` (str or int, 1-256 characters).
            event_type: if given, track one event of this type (no item) as the user.
            properties: that event's properties (merged over the context).
            sent_at: that event's time (default now).

        Returns:
            The tracked event, or ``None`` when ``event_type`` is ``None``.

        Raises:
            InvalidEventError: ``user_id`` or the event breaks a rule; the session is unchanged
                when ``user_id`` is invalid.
            TrackerClosedError: an event was asked for and the Tracker is closed.
        """
        checked = check_id(user_id, "user_id", LIMITS.user_id_max)
        if not self._composer.allow_placeholder_ids:
            check_placeholder(checked, "user_id")
        with self._lock:
            self._user_id = checked
        if event_type is None:
            return None
        return self.track(event_type, properties=properties, sent_at=sent_at)

    # ------------------------------------------------------------------ events

    def track(
        self,
        event_type: str,
        item_id: str | int | None = None,
        *,
        event_value: float | None = None,
        properties: PropertiesInput = None,
        sent_at: SentAtInput = None,
        event_id: str | None = None,
        recommendation_id: str | None = None,
        impression: Iterable[str | int] | None = None,
        metric_attribution_source: str | None = None,
    ) -> Event:
        """Track one event of this session (see :meth:`Tracker.track` for each argument).

        ``sessionId`` and ``userId`` come from the session; ``properties`` are merged over the
        session's context (an event key wins, ``None`` removes a context key); the attribution
        source defaults to the session's. When neither ``recommendation_id`` nor ``impression``
        is given and ``item_id`` is in a recommendation list this session fetched (the most
        recent such list, within its time-to-live), the event carries that list's
        ``recommendationId`` (implicit impressions) or, if :meth:`Recommendations.shown` was
        called on it, the shown ids as ``impression``.

        Returns:
            The queued :class:`Event`.

        Raises:
            InvalidEventError: a PutEvents or schema rule is broken; nothing is queued.
            TrackerClosedError: the Tracker was closed.
        """
        if (
            recommendation_id is None
            and impression is None
            and item_id is not None
            and self._memory
        ):
            recommendation_id, impression = self._recall(item_id)
        composer = self._composer
        event: Event = composer.build(
            event_type,
            self._session_id,
            self._user_id,
            item_id,
            event_value,
            self._context_json
            if properties is None
            else composer.properties(properties, self._context),
            sent_at,
            event_id,
            recommendation_id,
            impression,
            self._source if metric_attribution_source is None else metric_attribution_source,
        )
        self._tracker.enqueue(event)
        return event

    # ------------------------------------------------------------------ recommendations

    def get_recommendations(
        self,
        *,
        campaign_arn: str | None = None,
        recommender_arn: str | None = None,
        item_id: str | int | None = None,
        num_results: int | None = None,
        context: Mapping[str, str] | None = None,
        filter_arn: str | None = None,
        filter_values: Mapping[str, str] | None = None,
        promotions: Sequence[Mapping[str, Any]] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | None = None,
    ) -> Recommendations:
        """GetRecommendations for this visitor (``userId`` = :attr:`recommendation_user_id`).

        Arguments, errors and result as :meth:`Tracker.get_recommendations`; the list is
        remembered by the session (see :meth:`track`).
        """
        params = recommendation_params(
            campaign_arn=campaign_arn,
            recommender_arn=recommender_arn,
            user_id=self.recommendation_user_id,
            item_id=item_id,
            num_results=num_results,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            promotions=promotions,
            metadata_columns=metadata_columns,
        )
        response = self._tracker.runtime_client.get_recommendations(**params)
        return self._remember(response)

    def get_personalized_ranking(
        self,
        *,
        campaign_arn: str,
        input_list: Iterable[str | int],
        context: Mapping[str, str] | None = None,
        filter_arn: str | None = None,
        filter_values: Mapping[str, str] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | None = None,
    ) -> Recommendations:
        """GetPersonalizedRanking for this visitor (``userId`` = :attr:`recommendation_user_id`).

        Arguments, errors and result as :meth:`Tracker.get_personalized_ranking`; the ranking
        is remembered by the session (see :meth:`track`).
        """
        params = ranking_params(
            campaign_arn=campaign_arn,
            input_list=input_list,
            user_id=self.recommendation_user_id,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            metadata_columns=metadata_columns,
        )
        response = self._tracker.runtime_client.get_personalized_ranking(**params)
        return self._remember(response)

    def remember(self, recommendations: Recommendations) -> Recommendations:
        """Remember a list fetched elsewhere (e.g. with ``Tracker.get_recommendations``).

        Returns:
            A copy bound to this session: call :meth:`Recommendations.shown` on it.
        """
        bound = Recommendations(
            recommendations.item_ids,
            recommendations.scores,
            recommendations.recommendation_id,
            None,
            self._composer,
            self,
        )
        self._store(bound)
        if recommendations.shown_item_ids is not None:
            return bound.shown(recommendations.shown_item_ids)
        return bound

    def _remember(self, response: Mapping[str, Any]) -> Recommendations:
        result = Recommendations.from_response(response, policy=self._composer, session=self)
        self._store(result)
        return result

    def _store(self, result: Recommendations) -> None:
        if result.recommendation_id is None or not result.item_ids or self._memory.maxlen == 0:
            return
        entry = _Remembered(result.recommendation_id, result.item_ids, self._clock() + self._ttl)
        with self._lock:
            self._memory.append(entry)

    def record_shown(self, recommendation_id: str, item_ids: tuple[str, ...]) -> None:
        """Record that only ``item_ids`` of the remembered list ``recommendation_id`` were
        displayed: later interactions with them carry these ids as their ``impression``.

        Called by :meth:`Recommendations.shown` on a list this session fetched or remembered;
        a list it does not remember is ignored.
        """
        shown = item_ids
        with self._lock:
            for entry in self._memory:
                if entry.recommendation_id == recommendation_id:
                    entry.shown = shown
                    entry.ids = frozenset(shown)

    def _recall(self, item_id: str | int) -> tuple[str | None, tuple[str, ...] | None]:
        """Find the most recent live list holding ``item_id``: (recommendation id, impression)."""
        key = item_id if type(item_id) is str else str(item_id)
        now = self._clock()
        with self._lock:
            memory = self._memory
            while memory and memory[0].expires <= now:  # the oldest expire first
                memory.popleft()
            for entry in reversed(memory):
                if key in entry.ids:
                    if entry.shown is not None:
                        return None, entry.shown
                    return entry.recommendation_id, None
        return None, None

    def __repr__(self) -> str:
        who = "anonymous" if self._user_id is None else "identified"
        return f"<TrackingSession session_id={self._session_id!r} {who}>"
