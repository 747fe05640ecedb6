"""Recommendations from the ``personalize-runtime`` API, and what was shown of them.

``Tracker.get_recommendations`` / ``get_personalized_ranking`` (and the same helpers on a
:class:`~personalize_tracker.TrackingSession`) call GetRecommendations / GetPersonalizedRanking
synchronously, on the caller's thread, and return a :class:`Recommendations`. A session remembers
the lists it received, so that a later interaction with one of their items carries the list's
``recommendationId`` (implicit impressions) or the ids actually shown (explicit impressions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import boto3
import botocore.config

from ._errors import InvalidEventError
from ._limits import LIMITS
from ._record.fields import IMPRESSION_LIMIT, unique_item_ids
from .typing import ShownMemory, ShownPolicy

__all__ = ["Recommendations", "build_runtime_client"]


@attrs.frozen
class Recommendations:
    """One answer of GetRecommendations or GetPersonalizedRanking.

    Attributes:
        item_ids: the recommended item ids, best first (``itemList[].itemId`` or
            ``personalizedRanking[].itemId``).
        scores: each item's ``score`` (a float in [0, 1]; ``None`` where the service gave none,
            e.g. with some recipes), aligned with ``item_ids``.
        recommendation_id: the answer's ``recommendationId`` (sent back in PutEvents as
            ``recommendationId`` for implicit impressions), or ``None`` if the service gave none.
        shown_item_ids: the ids actually displayed, set by :meth:`shown`; ``None`` means the whole
            list was shown.

    Recommendations obtained through a :class:`~personalize_tracker.TrackingSession` are remembered
    by it (see :meth:`TrackingSession.track`).
    """

    item_ids: tuple[str, ...]
    scores: tuple[float | None, ...]
    recommendation_id: str | None
    shown_item_ids: tuple[str, ...] | None = None
    _policy: ShownPolicy | None = attrs.field(default=None, eq=False, repr=False)
    _session: ShownMemory | None = attrs.field(default=None, eq=False, repr=False)

    def __len__(self) -> int:
        return len(self.item_ids)

    def shown(self, item_ids: Iterable[str | int]) -> Recommendations:
        """Record that only ``item_ids`` of this list were displayed (e.g. the in-stock ones).

        Interactions with these items, tracked through the session that fetched the list, then
        carry them as an explicit ``impression`` instead of the list's ``recommendationId``.

        Args:
            item_ids: the displayed ids, a subset of :attr:`item_ids`; order kept, repeats
                removed. At most 25 (PutEvents ``impression`` limit), unless the Tracker was
                built with ``truncate_impressions=True``: then the first 25 are kept and the
                truncation is counted in ``TrackerStats.impressions_truncated``.

        Returns:
            A copy with :attr:`shown_item_ids` set (this object is immutable).

        Raises:
            InvalidEventError: an id is empty, too long or not in this list, none is given, or
                more than 25 are given without ``truncate_impressions`` (``field`` is
                ``"shown"``).
        """
        ids = unique_item_ids(item_ids, "shown")
        known = set(self.item_ids)
        if any(item not in known for item in ids):
            raise InvalidEventError(
                "shown",
                "has an item id that is not in this recommendation list",
                "a subset of item_ids",
            )
        if len(ids) > LIMITS.impression_max_items:
            if self._policy is None or not self._policy.truncate_impressions:
                raise InvalidEventError(
                    "shown",
                    f"has {len(ids)} distinct item ids; pass truncate_impressions=True to the "
                    "Tracker to keep the first ones",
                    IMPRESSION_LIMIT,
                )
            ids = ids[: LIMITS.impression_max_items]
            self._policy.count_truncated()
        if self._session is not None and self.recommendation_id is not None:
            self._session.record_shown(self.recommendation_id, ids)
        return attrs.evolve(self, shown_item_ids=ids)

    @classmethod
    def from_response(
        cls,
        response: Mapping[str, Any],
        *,
        policy: ShownPolicy | None = None,
        session: ShownMemory | None = None,
    ) -> Recommendations:
        """Build from a boto3 GetRecommendations or GetPersonalizedRanking response.

        Args:
            response: the response dict (``itemList`` or ``personalizedRanking``, and
                ``recommendationId``).
            policy: the Tracker's truncation policy, for :meth:`shown`.
            session: the session that remembers this list (and what was shown of it), if any.
        """
        entries: Sequence[Mapping[str, Any]] = (
            response.get("itemList") or response.get("personalizedRanking") or ()
        )
        item_ids = tuple(str(entry["itemId"]) for entry in entries)
        scores = tuple(
            None if entry.get("score") is None else float(entry["score"]) for entry in entries
        )
        return cls(item_ids, scores, response.get("recommendationId"), None, policy, session)


def build_runtime_client(
    *,
    session: boto3.Session | None,
    region_name: str | None,
    endpoint_url: str | None,
) -> Any:
    """Build a ``personalize-runtime`` client like the one a Tracker builds for you.

    GetRecommendations sits on the application's request path, so this client fails fast:
    botocore's standard retry mode with 3 attempts, ``connect_timeout=2`` and ``read_timeout=5``
    seconds. ``endpoint_url`` is used as is, except that a host starting with
    ``personalize-events.`` is changed to ``personalize-runtime.`` (a local test endpoint serves
    both APIs at one URL; the real services have one host each).
    """
    session = session if session is not None else boto3.Session()
    if endpoint_url is not None and "://personalize-events." in endpoint_url:
        endpoint_url = endpoint_url.replace("://personalize-events.", "://personalize-runtime.", 1)
    config = botocore.config.Config(
        retries={"total_max_attempts": 3, "mode": "standard"},
        connect_timeout=2,
        read_timeout=5,
        tcp_keepalive=True,
        user_agent_extra="personalize-tracker",
    )
    return session.client(
        "personalize-runtime", region_name=region_name, endpoint_url=endpoint_url, config=config
    )


def recommendation_params(
    *,
    campaign_arn: str | None,
    recommender_arn: str | None,
    user_id: str | int | None,
    item_id: str | int | None,
    num_results: int | None,
    context: Mapping[str, str] | None,
    filter_arn: str | None,
    filter_values: Mapping[str, str] | None,
    promotions: Sequence[Mapping[str, Any]] | None,
    metadata_columns: Mapping[str, Sequence[str]] | None,
) -> dict[str, Any]:
    """The GetRecommendations request in boto3's parameter names (``None`` left out)."""
    params = {
        "campaignArn": campaign_arn,
        "recommenderArn": recommender_arn,
        "userId": None if user_id is None else str(user_id),
        "itemId": None if item_id is None else str(item_id),
        "numResults": num_results,
        "context": None if context is None else dict(context),
        "filterArn": filter_arn,
        "filterValues": None if filter_values is None else dict(filter_values),
        "promotions": None if promotions is None else [dict(p) for p in promotions],
        "metadataColumns": None
        if metadata_columns is None
        else {k: list(v) for k, v in metadata_columns.items()},
    }
    return {name: value for name, value in params.items() if value is not None}


def ranking_params(
    *,
    campaign_arn: str,
    input_list: Iterable[str | int],
    user_id: str | int,
    context: Mapping[str, str] | None,
    filter_arn: str | None,
    filter_values: Mapping[str, str] | None,
    metadata_columns: Mapping[str, Sequence[str]] | None,
) -> dict[str, Any]:
    """The GetPersonalizedRanking request in boto3's parameter names (``None`` left out)."""
    params = {
        "campaignArn": campaign_arn,
        "inputList": [str(item) for item in input_list],
        "userId": str(user_id),
        "context": None if context is None else dict(context),
        "filterArn": filter_arn,
        "filterValues": None if filter_values is None else dict(filter_values),
        "metadataColumns": None
        if metadata_columns is None
        else {k: list(v) for k, v in metadata_columns.items()},
    }
    return {name: value for name, value in params.items() if value is not None}
