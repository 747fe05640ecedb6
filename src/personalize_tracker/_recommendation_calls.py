"""The recommendation side of the :class:`~personalize_tracker.Tracker` (its base class) and
where its ``personalize-runtime`` client comes from, apart from
:mod:`personalize_tracker.recommendations` so that ``import personalize_tracker`` and a Tracker
that only tracks do not import it (issue 18: import time): it is imported at the first
``get_recommendations``, ``get_personalized_ranking`` or ``runtime_client``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .typing import ShownPolicy

if TYPE_CHECKING:
    import boto3

    from .recommendations import Recommendations

__all__ = ["RecommendationCalls", "RuntimeClientSource"]


class RuntimeClientSource:
    """The Tracker's ``personalize-runtime`` client: the one given, or one built at first use.

    A built client is rebuilt in a forked child (boto3 clients must not cross a fork).
    """

    __slots__ = ("_client", "_given", "_lock", "_options", "_pid")

    def __init__(
        self,
        client: Any,
        *,
        session: boto3.Session | None,
        region_name: str | None,
        endpoint_url: str | None,
        events_client: Any,
    ) -> None:
        self._given = client is not None
        self._client = client
        self._pid = os.getpid()
        self._lock = threading.Lock()
        if region_name is None and session is None and events_client is not None:
            # client= given for events: build the runtime client for the same region.
            region_name = getattr(getattr(events_client, "meta", None), "region_name", None)
        self._options: dict[str, Any] = {
            "session": session,
            "region_name": region_name,
            "endpoint_url": endpoint_url,
        }

    def get(self) -> Any:
        """Return the client, building it on first use (or after a fork)."""
        client = self._client
        if client is not None and (self._given or self._pid == os.getpid()):
            return client
        with self._lock:
            if self._client is None or (not self._given and self._pid != os.getpid()):
                from . import recommendations  # GetRecommendations' module, on first use

                self._client = recommendations.build_runtime_client(**self._options)
                self._pid = os.getpid()
            return self._client


class RecommendationCalls:
    """GetRecommendations and GetPersonalizedRanking, synchronously, on the caller's thread: the
    recommendation side of a :class:`~personalize_tracker.Tracker` (its base class).

    A subclass sets ``_runtime`` (where the ``personalize-runtime`` client comes from) and
    ``_composer`` (the impression truncation policy the answers' :meth:`Recommendations.shown`
    follows).
    """

    _runtime: RuntimeClientSource
    _composer: ShownPolicy

    def get_recommendations(
        self,
        *,
        campaign_arn: str | None = None,
        recommender_arn: str | None = None,
        user_id: str | int | None = None,
        item_id: str | int | None = None,
        num_results: int | None = None,
        context: Mapping[str, str] | None = None,
        filter_arn: str | None = None,
        filter_values: Mapping[str, str] | None = None,
        promotions: Sequence[Mapping[str, Any]] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | None = None,
    ) -> Recommendations:
        """Call ``personalize-runtime`` GetRecommendations, synchronously, on this thread.

        The arguments are boto3's, in snake_case; ``None`` leaves one out. Give exactly one of
        ``campaign_arn`` and ``recommender_arn``, and ``user_id`` and/or ``item_id``.

        Args:
            campaign_arn: ``campaignArn``.
            recommender_arn: ``recommenderArn`` (domain dataset groups).
            user_id: ``userId`` (for an anonymous visitor, the session id: see
                :attr:`TrackingSession.recommendation_user_id`).
            item_id: ``itemId`` (related-items recipes).
            num_results: ``numResults`` (service default 25, at most 500).
            context: ``context``: contextual metadata keyed by schema field name
                (``{"DEVICE_TYPE": "mobile"}``), at most 150 entries.
            filter_arn: ``filterArn``.
            filter_values: ``filterValues``, at most 25 entries.
            promotions: ``promotions`` (at most 1), each in boto3's camelCase form.
            metadata_columns: ``metadataColumns``.

        Returns:
            :class:`Recommendations`: ``item_ids`` best first, ``scores``, ``recommendation_id``.
            Not remembered: use :meth:`TrackingSession.get_recommendations` for that.

        Raises:
            botocore.exceptions.ClientError: the service refused the call
                (``InvalidInputException``, ``ResourceNotFoundException``, throttling after the
                client's retries...). Errors propagate: this is the application's request path.
            botocore.exceptions.BotoCoreError: connection errors, timeouts, missing credentials.
        """
        from .recommendations import Recommendations, recommendation_params

        params = recommendation_params(
            campaign_arn=campaign_arn,
            recommender_arn=recommender_arn,
            user_id=user_id,
            item_id=item_id,
            num_results=num_results,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            promotions=promotions,
            metadata_columns=metadata_columns,
        )
        response = self._runtime.get().get_recommendations(**params)
        return Recommendations.from_response(response, policy=self._composer)

    def get_personalized_ranking(
        self,
        *,
        campaign_arn: str,
        input_list: Iterable[str | int],
        user_id: str | int,
        context: Mapping[str, str] | None = None,
        filter_arn: str | None = None,
        filter_values: Mapping[str, str] | None = None,
        metadata_columns: Mapping[str, Sequence[str]] | None = None,
    ) -> Recommendations:
        """Call ``personalize-runtime`` GetPersonalizedRanking, synchronously, on this thread.

        Args:
            campaign_arn: ``campaignArn``.
            input_list: ``inputList``: the item ids to rank (at most 500).
            user_id: ``userId``.
            context: ``context`` (see :meth:`get_recommendations`).
            filter_arn: ``filterArn``.
            filter_values: ``filterValues``.
            metadata_columns: ``metadataColumns``.

        Returns:
            :class:`Recommendations` with the items in ranked order.

        Raises:
            botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError: as
                :meth:`get_recommendations`.
        """
        from .recommendations import Recommendations, ranking_params

        params = ranking_params(
            campaign_arn=campaign_arn,
            input_list=input_list,
            user_id=user_id,
            context=context,
            filter_arn=filter_arn,
            filter_values=filter_values,
            metadata_columns=metadata_columns,
        )
        response = self._runtime.get().get_personalized_ranking(**params)
        return Recommendations.from_response(response, policy=self._composer)

    @property
    def runtime_client(self) -> Any:
        """The boto3 ``personalize-runtime`` client (built now if it was not given or built)."""
        return self._runtime.get()
