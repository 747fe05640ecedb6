"""The rules the service documents beyond the shapes of botocore's models.

botocore's models carry lengths, counts and patterns (``_validation.py`` checks them); the
rules below are written only in the members' documentation, which the models also ship, and in
the API reference. Each is quoted where it is checked. All are answered 400
``InvalidInputException``, as the service answers a request that breaks a documented rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._protocol import ServiceError, strict_json_object

__all__ = [
    "ACTION_INTERACTION_EVENT_TYPES",
    "DEFAULT_NUM_RESULTS",
    "MAX_METADATA_COLUMNS",
    "MAX_NUM_RESULTS",
    "MAX_RANKING_INPUT",
    "MAX_RESULTS_WITH_METADATA",
    "METADATA_COLUMNS_KEY",
    "PUT_OPERATIONS",
    "RESERVED_PROPERTY_KEYS",
    "check_documented",
]

#: "The following can't be included as a keyword for properties (case insensitive): userId,
#: sessionId, eventType, timestamp, recommendationId, impression" (the ``properties`` member of
#: ``Event`` and of ``ActionInteraction`` in the personalize-events model).
RESERVED_PROPERTY_KEYS = (
    "userId",
    "sessionId",
    "eventType",
    "timestamp",
    "recommendationId",
    "impression",
)
_RESERVED = {key.lower(): key for key in RESERVED_PROPERTY_KEYS}

#: "You can specify Viewed, Taken, and Not Taken event types" (``ActionInteraction.eventType``).
ACTION_INTERACTION_EVENT_TYPES = ("Viewed", "Taken", "Not Taken")

#: "The default is 25 ... If you are including metadata in recommendations, the maximum is 50.
#: Otherwise, the maximum is 500." (``GetRecommendations.numResults``; the same two maxima for
#: ``GetPersonalizedRanking.inputList``.) The model itself sets no maximum.
DEFAULT_NUM_RESULTS = 25
MAX_NUM_RESULTS = 500
MAX_RANKING_INPUT = 500
MAX_RESULTS_WITH_METADATA = 50

#: "The map key is ITEMS and the value is a list of column names from your Items dataset. The
#: maximum number of columns you can provide is 10." (``metadataColumns``; the model allows 99.)
METADATA_COLUMNS_KEY = "ITEMS"
MAX_METADATA_COLUMNS = 10

#: The operations whose success is "an HTTP 200 response with an empty HTTP body" (API reference).
PUT_OPERATIONS = frozenset(
    {"PutEvents", "PutUsers", "PutItems", "PutActions", "PutActionInteractions"}
)


def _invalid(message: str) -> ServiceError:
    return ServiceError(400, "InvalidInputException", message)


def _check_properties(text: Any, path: str) -> None:
    if not isinstance(text, str):
        return  # absent; a wrong type was refused by the validator
    try:
        properties = strict_json_object(text)
    except ValueError:
        return  # refused by the validator with its reason
    for key in properties:
        reserved = _RESERVED.get(key.lower())
        if reserved is not None:
            raise _invalid(
                f"{path}.properties: '{key}' is a reserved keyword (case insensitive) and cannot "
                f"be a key of properties; reserved: {', '.join(RESERVED_PROPERTY_KEYS)}"
            )


def _members(params: dict[str, Any], name: str) -> Iterable[tuple[int, dict[str, Any]]]:
    values = params.get(name)
    if not isinstance(values, list):
        return ()
    return ((index, value) for index, value in enumerate(values) if isinstance(value, dict))


def _check_metadata(params: dict[str, Any], count: int, what: str) -> None:
    columns = params.get("metadataColumns")
    limit = MAX_NUM_RESULTS if columns is None else MAX_RESULTS_WITH_METADATA
    if count > limit:
        with_metadata = " when metadataColumns is given" if columns is not None else ""
        raise _invalid(f"{what} must be less than or equal to {limit}{with_metadata}.")
    if columns is None:
        return
    for key, names in columns.items():
        if key != METADATA_COLUMNS_KEY:
            raise _invalid(
                f"metadataColumns: the key must be '{METADATA_COLUMNS_KEY}', not '{key}'."
            )
        if len(names) > MAX_METADATA_COLUMNS:
            raise _invalid(
                f"metadataColumns.{key}: at most {MAX_METADATA_COLUMNS} columns, got {len(names)}."
            )


def _put_events(params: dict[str, Any]) -> None:
    for index, event in _members(params, "eventList"):
        _check_properties(event.get("properties"), f"eventList.{index}")


def _put_action_interactions(params: dict[str, Any]) -> None:
    for index, interaction in _members(params, "actionInteractions"):
        event_type = interaction.get("eventType")
        if event_type not in ACTION_INTERACTION_EVENT_TYPES:
            raise _invalid(
                f"actionInteractions.{index}.eventType: {event_type!r} is not one of "
                f"{', '.join(ACTION_INTERACTION_EVENT_TYPES)}"
            )
        _check_properties(interaction.get("properties"), f"actionInteractions.{index}")


def _get_recommendations(params: dict[str, Any]) -> None:
    # "campaignArn ... Required: No", "recommenderArn ... Required: No": one of the two says
    # where to ask; the API reference requires userId for USER_PERSONALIZATION and itemId for
    # related items, so at least one of them.
    if (params.get("campaignArn") is None) == (params.get("recommenderArn") is None):
        raise _invalid("Exactly one of campaignArn and recommenderArn must be provided.")
    if params.get("userId") is None and params.get("itemId") is None:
        raise _invalid("Either userId or itemId must be provided.")
    _check_metadata(params, params.get("numResults", DEFAULT_NUM_RESULTS), "numResults")


def _get_personalized_ranking(params: dict[str, Any]) -> None:
    _check_metadata(params, len(params["inputList"]), "inputList's length")


_RULES = {
    "PutEvents": _put_events,
    "PutActionInteractions": _put_action_interactions,
    "GetRecommendations": _get_recommendations,
    "GetPersonalizedRanking": _get_personalized_ranking,
}


def check_documented(operation: str, params: dict[str, Any]) -> None:
    """Check the documented rules of ``operation`` on a body that passed the model's shapes.

    Args:
        operation: e.g. ``"PutEvents"``.
        params: the decoded, shape-checked request body.

    Raises:
        ServiceError: 400 ``InvalidInputException`` naming the member, the rule and the limit.
    """
    rule = _RULES.get(operation)
    if rule is not None:
        rule(params)
