"""``WebTrackingSession``: the TrackingSession of one web request.

It reports to its owner (a :class:`~personalize_tracker.integrations.WebTracking`) through the
small :class:`SessionOwner` protocol, so that this module does not import the owner's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from .. import Event
from ..recommendations import Recommendations
from ..session import TrackingSession
from ..tracker import Tracker
from ..typing import PropertiesInput, SentAtInput

__all__ = ["SessionOwner", "WebTrackingSession", "web_session"]


class SessionOwner(Protocol):
    """What a :class:`WebTrackingSession` reports to: its integration's
    :class:`~personalize_tracker.integrations.WebTracking`.
    """

    def record_error(self, where: str, exc: BaseException) -> None:
        """Log and count a tracking error, or raise ``exc`` again (``raise_errors=True``)."""
        ...

    def save_recommendations(self, session_id: str, recommendations: Recommendations) -> None:
        """Save a list for the visitor's next requests (errors logged, counted)."""
        ...

    def save_shown(self, session_id: str, recommendation_id: str, shown: tuple[str, ...]) -> None:
        """Record which items of a saved list were shown (errors logged, counted)."""
        ...


class WebTrackingSession(TrackingSession):
    """The :class:`~personalize_tracker.TrackingSession` of one web request.

    It behaves like a ``TrackingSession`` (same ``track``, ``identify``,
    ``get_recommendations``...), with two differences:

    * a tracking error does not propagate: ``track()`` and ``identify()`` log it on the
      ``personalize_tracker.integrations`` logger, count it in :attr:`WebTracking.errors` and
      return ``None`` (unless the integration was configured with ``raise_errors=True``), so
      a bad event never turns a page into an error page;
    * the recommendation lists it fetches (or is given with ``remember``) are saved in the
      integration's :class:`RecommendationStore`, and the next request of the same visitor
      starts with them, so a click in a later request carries the list's ``recommendationId``.

    ``get_recommendations`` and ``get_personalized_ranking`` still raise botocore's errors:
    they return what the page shows, so the view must decide on a fallback.
    """

    __slots__ = ("_web",)

    _web: SessionOwner

    def track(  # type: ignore[override]  # None instead of an exception: see the class
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
    ) -> Event | None:
        """Track one event (see :meth:`TrackingSession.track`).

        Returns:
            The queued :class:`~personalize_tracker.Event`, or ``None`` when tracking failed
            (the error was logged and counted).

        Raises:
            InvalidEventError, TrackerClosedError: only with ``raise_errors=True``.
        """
        try:
            return super().track(
                event_type,
                item_id,
                event_value=event_value,
                properties=properties,
                sent_at=sent_at,
                event_id=event_id,
                recommendation_id=recommendation_id,
                impression=impression,
                metric_attribution_source=metric_attribution_source,
            )
        except Exception as exc:
            self._web.record_error("track", exc)
            return None

    def identify(
        self,
        user_id: str | int,
        event_type: str | None = None,
        *,
        properties: PropertiesInput = None,
        sent_at: SentAtInput = None,
    ) -> Event | None:
        """Give the session a user (see :meth:`TrackingSession.identify`).

        Returns:
            The tracked event, or ``None`` when none was asked for or tracking failed (the
            error was logged and counted; an invalid ``user_id`` leaves the session anonymous).

        Raises:
            InvalidEventError, TrackerClosedError: only with ``raise_errors=True``.
        """
        try:
            return super().identify(user_id, event_type, properties=properties, sent_at=sent_at)
        except Exception as exc:
            self._web.record_error("identify", exc)
            return None

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
        """GetRecommendations for this visitor (see :meth:`TrackingSession.get_recommendations`).

        The list is also saved for the visitor's next requests.

        Raises:
            botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError: the call failed.
        """
        result = super().get_recommendations(
            campaign_arn=campaign_arn,
            recommender_arn=recommender_arn,
            item_id=item_id,
            num_results=num_results,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            promotions=promotions,
            metadata_columns=metadata_columns,
        )
        self._web.save_recommendations(self.session_id, result)
        return result

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
        """GetPersonalizedRanking (see :meth:`TrackingSession.get_personalized_ranking`).

        The ranking is also saved for the visitor's next requests.

        Raises:
            botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError: the call failed.
        """
        result = super().get_personalized_ranking(
            campaign_arn=campaign_arn,
            input_list=input_list,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            metadata_columns=metadata_columns,
        )
        self._web.save_recommendations(self.session_id, result)
        return result

    def remember(self, recommendations: Recommendations) -> Recommendations:
        """Remember a list fetched elsewhere, in this request and the visitor's next ones."""
        bound = super().remember(recommendations)
        self._web.save_recommendations(self.session_id, bound)
        return bound

    def record_shown(self, recommendation_id: str, item_ids: tuple[str, ...]) -> None:
        """Record what was shown of a list (see :meth:`TrackingSession.record_shown`), in this
        request and the visitor's next ones."""
        super().record_shown(recommendation_id, item_ids)
        self._web.save_shown(self.session_id, recommendation_id, item_ids)


def web_session(
    owner: SessionOwner,
    tracker: Tracker,
    user_id: str | int | None,
    session_id: str,
    context: Mapping[str, Any] | None,
    *,
    max_recommendations: int,
    recommendation_ttl: float,
) -> WebTrackingSession:
    """A :class:`WebTrackingSession` that reports its errors and lists to ``owner``.

    Args:
        owner: the integration's :class:`~personalize_tracker.integrations.WebTracking`.
        tracker: the Tracker that delivers the session's events.
        user_id: the visitor's ``userId``, or ``None`` while anonymous.
        session_id: the ``sessionId``.
        context: the session's context, or ``None``.
        max_recommendations: recommendation lists the session remembers (>= 0).
        recommendation_ttl: seconds a remembered list stays usable (> 0).

    Raises:
        InvalidEventError: an id or the context breaks a PutEvents rule (as
            :class:`~personalize_tracker.TrackingSession` raises it).
        ValueError: ``max_recommendations`` or ``recommendation_ttl`` is out of range.
    """
    session = WebTrackingSession(
        tracker,
        user_id,
        session_id,
        context,
        max_recommendations=max_recommendations,
        recommendation_ttl=recommendation_ttl,
    )
    session._web = owner
    return session
