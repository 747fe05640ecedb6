"""The fake's answers to GetRecommendations and GetPersonalizedRanking: deterministic rankings.

The same campaign (or recommender), user and item give the same order every time; every answer
has a fresh ``recommendationId``. The documented limits are checked before (``_operations.py``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

from ._operations import DEFAULT_NUM_RESULTS

__all__ = ["DEFAULT_CATALOG", "personalized_ranking", "recommend"]

#: Item ids used until ``PersonalizeEventsMock.set_catalog`` is called.
DEFAULT_CATALOG: tuple[str, ...] = tuple(f"item-{n}" for n in range(1000))


def _score_key(seed: str, item: str) -> int:
    digest = hashlib.blake2b(f"{seed}\x00{item}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _rank(seed: str, items: Iterable[str]) -> list[tuple[str, float]]:
    """Order ``items`` deterministically for ``seed``; scores descend and sum to at most 1."""
    keyed = sorted(((_score_key(seed, item), item) for item in items), key=lambda p: (-p[0], p[1]))
    total = sum(key for key, _ in keyed) or 1
    return [(item, round(key / total, 7)) for key, item in keyed]


def _new_recommendation_id() -> str:
    # Real ids start with "RID-"; the result must fit PutEvents' recommendationId (max 40).
    return f"RID-{uuid.uuid4()}"


def recommend(params: dict[str, Any], catalog: tuple[str, ...]) -> dict[str, Any]:
    """GetRecommendations' answer: ``numResults`` (default 25) items of ``catalog``, the
    request's ``itemId`` left out, each ``{"itemId", "score"}``, and a ``recommendationId``."""
    campaign = params.get("campaignArn") or params.get("recommenderArn")
    user_id, item_id = params.get("userId"), params.get("itemId")
    count = params.get("numResults", DEFAULT_NUM_RESULTS)
    seed = f"{campaign}\x00{user_id or ''}\x00{item_id or ''}"
    ranked = [(item, score) for item, score in _rank(seed, catalog) if item != item_id]
    return {
        "itemList": [{"itemId": item, "score": score} for item, score in ranked[:count]],
        "recommendationId": _new_recommendation_id(),
    }


def personalized_ranking(params: dict[str, Any]) -> dict[str, Any]:
    """GetPersonalizedRanking's answer: ``inputList`` reordered (duplicates once), each
    ``{"itemId", "score"}``, and a ``recommendationId``."""
    seed = f"{params['campaignArn']}\x00{params['userId']}"
    ranked = _rank(seed, dict.fromkeys(params["inputList"]))
    return {
        "personalizedRanking": [{"itemId": item, "score": score} for item, score in ranked],
        "recommendationId": _new_recommendation_id(),
    }
