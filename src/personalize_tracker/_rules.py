"""What Amazon Personalize does with interaction events: one table of rules, each with its source.

Every rule below cites the page of the Amazon Personalize developer guide it comes from
(``https://docs.aws.amazon.com/personalize/latest/dg/<page>``). No rule is ours: a rule we could
not find a source for is left out (``docs/readiness.md`` lists those). ``docs/readiness.md``
renders the same table, and ``tests/test_readiness_rules.py`` checks that the two agree.

A leaf: it imports nothing of the package, so the record layer (the checks at ``track()``) and
the public ``readiness`` module both read it.
"""

from __future__ import annotations

import re

import attrs

__all__ = [
    "CONTEXT_RECIPES",
    "DOMAINS",
    "IMPRESSION_RECIPES",
    "MAX_EVENT_TYPES_AND_METADATA",
    "MAX_METADATA_COLUMNS",
    "MIN_INTERACTIONS",
    "MIN_SHARE_USERS_WITH_TWO",
    "MIN_USERS_WITH_TWO",
    "SOURCES",
    "UseCase",
    "recipe_name",
    "spelling_key",
]

_DG = "https://docs.aws.amazon.com/personalize/latest/dg/"

#: The pages the rules come from, by short name.
SOURCES = {
    "quotas": _DG + "limits.html",
    "ECOMMERCE": _DG + "ECOMMERCE-use-cases.html",
    "VIDEO_ON_DEMAND": _DG + "VIDEO_ON_DEMAND-use-cases.html",
    "context": _DG + "contextual-metadata.html",
    "impressions": _DG + "putevents-including-impressions-data.html",
    "recording": _DG + "recording-item-interaction-events.html",
    "event": _DG + "API_UBS_Event.html",
    "interactions": _DG + "interactions-datasets.html",
    "interactions_requirements": _DG + "interactions-dataset-requirements.html",
    "formatting": _DG + "data-prep-formatting.html",
}

# -- Service quotas (limits.html, "Item interactions" and "Users") ------------------------------
#: "Minimum number of unique item interactions required to create a solution version or
#: recommender" (limits.html).
MIN_INTERACTIONS = 1000
#: "Minimum number of unique users in item interactions data, with at minimum 2 item
#: interactions each, required to create a domain recommender or custom solution version"
#: (limits.html).
MIN_USERS_WITH_TWO = 25
#: "Minimum percentage of total users that must have at minimum 2 item interactions or more"
#: (limits.html): 1 percent.
MIN_SHARE_USERS_WITH_TWO = 0.01
#: "Maximum number of metadata columns, excluding reserved fields, in an Item interactions
#: dataset" (limits.html).
MAX_METADATA_COLUMNS = 5
#: "Maximum number of distinct event types combined with total number of optional metadata
#: columns in an Item interactions dataset" (limits.html).
MAX_EVENT_TYPES_AND_METADATA = 10


@attrs.frozen
class UseCase:
    """One domain use case: a recommender's recipe and the events it needs.

    Attributes:
        recipe: the recipe name as in its ARN (``arn:aws:personalize:::recipe/<recipe>``).
        title: the use case's name in the developer guide ("Most viewed").
        domain: ``"ECOMMERCE"`` or ``"VIDEO_ON_DEMAND"``.
        event_type: the event type it requires, spelled exactly, or ``None`` when any event
            type counts.
        min_events: how many events of ``event_type`` (or of any type) it requires.
        uses_context: whether it uses contextual metadata (contextual-metadata.html).
    """

    recipe: str
    title: str
    domain: str
    event_type: str | None
    min_events: int
    uses_context: bool = False


# -- Domain use cases: ECOMMERCE-use-cases.html and VIDEO_ON_DEMAND-use-cases.html --------------
# "Required event types: At minimum, 1000 `View` events" and the like, per use case; "Required
# number of events: At minimum, 1000 events (of any type)" where no type is named. Contextual
# metadata: contextual-metadata.html names "Recommended for you" (ECOMMERCE) and "Top picks for
# you" (VIDEO_ON_DEMAND) as the domain use cases that can use it.
_USE_CASES = (
    UseCase("aws-ecomm-popular-items-by-views", "Most viewed", "ECOMMERCE", "View", 1000),
    UseCase("aws-ecomm-popular-items-by-purchases", "Best sellers", "ECOMMERCE", "Purchase", 1000),
    UseCase(
        "aws-ecomm-frequently-bought-together",
        "Frequently bought together",
        "ECOMMERCE",
        "Purchase",
        1000,
    ),
    UseCase(
        "aws-ecomm-customers-who-viewed-x-also-viewed",
        "Customers who viewed X also viewed",
        "ECOMMERCE",
        "View",
        1000,
    ),
    UseCase("aws-ecomm-recommended-for-you", "Recommended for you", "ECOMMERCE", None, 1000, True),
    UseCase(
        "aws-vod-because-you-watched-x", "Because you watched X", "VIDEO_ON_DEMAND", "Watch", 1000
    ),
    UseCase("aws-vod-more-like-x", "More like X", "VIDEO_ON_DEMAND", None, 1000),
    UseCase("aws-vod-most-popular", "Most popular", "VIDEO_ON_DEMAND", "Watch", 1000),
    UseCase("aws-vod-trending-now", "Trending now", "VIDEO_ON_DEMAND", None, 1000),
    UseCase("aws-vod-top-picks", "Top picks for you", "VIDEO_ON_DEMAND", None, 1000, True),
)

#: The domains and their use cases, by recipe name.
DOMAINS: dict[str, dict[str, UseCase]] = {
    domain: {u.recipe: u for u in _USE_CASES if u.domain == domain}
    for domain in ("ECOMMERCE", "VIDEO_ON_DEMAND")
}

# -- Custom recipes ------------------------------------------------------------------------------
#: Custom recipes that use contextual metadata (contextual-metadata.html: "For custom resources,
#: recipes that use contextual metadata include the following").
CONTEXT_RECIPES = frozenset(
    {
        "aws-user-personalization-v2",
        "aws-user-personalization",
        "aws-personalized-ranking-v2",
        "aws-personalized-ranking",
    }
)
#: Custom recipes that model impressions (putevents-including-impressions-data.html: "If you
#: use the User-Personalization recipe or add the IMPRESSIONS field to your schema for a dataset
#: in a Domain dataset group, you can record impressions data"). Every domain use case may use
#: them (with an IMPRESSION column in the schema); User-Personalization-v2 is not named there.
IMPRESSION_RECIPES = frozenset({"aws-user-personalization"})

# Not a rule of ours either: "If you record two events with exactly the same timestamp and
# identical properties, Amazon Personalize keeps only one of the events" (recording page).

_ARN = re.compile(r"^arn:aws[\w-]*:personalize:::recipe/(?P<name>[\w.-]+)$")
_NAME = re.compile(r"^aws-[a-z0-9-]+$")


def recipe_name(name_or_arn: str) -> str:
    """``"arn:aws:personalize:::recipe/aws-sims"`` or ``"aws-sims"`` → ``"aws-sims"``.

    Raises:
        ValueError: neither a recipe ARN nor an ``aws-...`` recipe name.
    """
    if not isinstance(name_or_arn, str):
        raise ValueError(f"a recipe is a str (name or ARN), got {type(name_or_arn).__name__}")
    match = _ARN.match(name_or_arn)
    name = match.group("name") if match else name_or_arn
    if not _NAME.match(name):
        raise ValueError(
            f"{name_or_arn!r} is not a recipe name (aws-...) nor a recipe ARN "
            "(arn:aws:personalize:::recipe/aws-...)"
        )
    return name


_FOLD = re.compile(r"[\s_\-]+")


def spelling_key(event_type: str) -> str:
    """An event type without case, spaces, ``_`` and ``-``: equal keys but different spellings
    are the near misses the checks warn about (``view`` for ``View``)."""
    return _FOLD.sub("", event_type).casefold()
