"""The records of the Items, Users and Actions datasets and of action interactions: :class:`Item`,
:class:`User`, :class:`Action` (PutItems, PutUsers, PutActions) and :class:`ActionInteraction`
(PutActionInteractions), and the functions that validate and build them at the call.

Every limit is read from botocore's ``personalize-events`` service model (``DATASET_LIMITS``);
the action-interaction event types are the member documentation's ("You can specify Viewed,
Taken, and Not Taken event types").
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import attrs

from .._errors import InvalidEventError
from .._limits import DATASET_LIMITS, LIMITS
from ..typing import PropertiesInput, SentAtInput
from .fields import (
    MAX_SESSION_ID,
    check_id,
    check_placeholder,
    check_sent_at,
    check_text,
    unique_item_ids,
)
from .ids import event_ids
from .metadata import encode_dataset_properties, encode_interaction_properties

__all__ = [
    "ACTION_INTERACTION_EVENT_TYPES",
    "Action",
    "ActionInteraction",
    "Item",
    "User",
    "build_action",
    "build_action_interaction",
    "build_item",
    "build_user",
    "check_action_event_type",
    "check_dataset_arn",
    "user_log_id",
]

#: The event types PutActionInteractions takes (``ActionInteraction.eventType``'s documentation
#: in the service model: "You can specify Viewed, Taken, and Not Taken event types").
ACTION_INTERACTION_EVENT_TYPES = ("Viewed", "Taken", "Not Taken")
_EVENT_TYPES_BY_CASE = {t.lower().replace(" ", ""): t for t in ACTION_INTERACTION_EVENT_TYPES}
_LIMITS = DATASET_LIMITS
_ITEM_ID_MAX, _ITEM_PROPERTIES_MAX = _LIMITS.item_id_max, _LIMITS.item_properties_max
_USER_ID_MAX, _USER_PROPERTIES_MAX = _LIMITS.user_id_max, _LIMITS.user_properties_max
_ACTION_ID_MAX, _ACTION_PROPERTIES_MAX = _LIMITS.action_id_max, _LIMITS.action_properties_max
_AI = "PutActionInteractions"


def _entry(id_key: str, record_id: str, properties: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {id_key: record_id}
    if properties is not None:
        entry["properties"] = properties
    return entry


@attrs.frozen
class Item:
    """One item of an Items dataset, as PutItems sends it.

    Attributes:
        item_id: ``itemId``, 1-256 characters.
        properties: ``properties``: a compact JSON object string with camelCase keys, at most
            32,000 characters (the service model's ``Item.properties`` max), or ``None``.
    """

    kind: ClassVar[str] = "items"
    item_id: str
    properties: str | None = None

    @property
    def record_id(self) -> str:
        """The record's id (``item_id``): what a later record of the same item replaces."""
        return self.item_id

    def to_request(self) -> dict[str, Any]:
        """The entry of PutItems' ``items`` (boto3's names): ``itemId`` and ``properties``."""
        return _entry("itemId", self.item_id, self.properties)

    @classmethod
    def from_request(cls, entry: Mapping[str, Any]) -> Item:
        """Rebuild from :meth:`to_request`'s shape, unchecked (a record this library wrote).

        Raises:
            KeyError: ``itemId`` is missing.
        """
        return cls(entry["itemId"], entry.get("properties"))


@attrs.frozen
class User:
    """One user of a Users dataset, as PutUsers sends it.

    Attributes:
        user_id: ``userId``, 1-256 characters.
        properties: ``properties``: a compact JSON object string with camelCase keys, at most
            24,000 characters (the service model's ``User.properties`` max), or ``None``.
    """

    kind: ClassVar[str] = "users"
    user_id: str
    properties: str | None = None

    @property
    def record_id(self) -> str:
        """The record's id (``user_id``): what a later record of the same user replaces."""
        return self.user_id

    def to_request(self) -> dict[str, Any]:
        """The entry of PutUsers' ``users`` (boto3's names): ``userId`` and ``properties``."""
        return _entry("userId", self.user_id, self.properties)

    @classmethod
    def from_request(cls, entry: Mapping[str, Any]) -> User:
        """Rebuild from :meth:`to_request`'s shape, unchecked.

        Raises:
            KeyError: ``userId`` is missing.
        """
        return cls(entry["userId"], entry.get("properties"))


@attrs.frozen
class Action:
    """One action of an Actions dataset, as PutActions sends it.

    Attributes:
        action_id: ``actionId``, 1-256 characters.
        properties: ``properties``: a compact JSON object string with camelCase keys, at most
            32,000 characters (the service model's ``Action.properties`` max), or ``None``.
    """

    kind: ClassVar[str] = "actions"
    action_id: str
    properties: str | None = None

    @property
    def record_id(self) -> str:
        """The record's id (``action_id``): what a later record of the same action replaces."""
        return self.action_id

    def to_request(self) -> dict[str, Any]:
        """The entry of PutActions' ``actions`` (boto3's names): ``actionId``, ``properties``."""
        return _entry("actionId", self.action_id, self.properties)

    @classmethod
    def from_request(cls, entry: Mapping[str, Any]) -> Action:
        """Rebuild from :meth:`to_request`'s shape, unchecked.

        Raises:
            KeyError: ``actionId`` is missing.
        """
        return cls(entry["actionId"], entry.get("properties"))


@attrs.frozen
class ActionInteraction:
    """One action interaction, as PutActionInteractions sends it (each carries its session).

    Attributes:
        event_type: ``eventType``: ``"Viewed"``, ``"Taken"`` or ``"Not Taken"``.
        action_id: ``actionId``, 1-256 characters.
        session_id: ``sessionId``, 1-256 characters.
        sent_at: ``timestamp`` as epoch seconds (float, UTC).
        event_id: ``eventId``, 1-256 characters (a resent interaction is harmless).
        user_id: ``userId``, or ``None`` for an anonymous visitor.
        recommendation_id: ``recommendationId``, at most 40 characters, or ``None``.
        impression: ``impression``: 1-25 action ids, or ``None``.
        properties: ``properties``: a JSON object string of at most 1,024 characters, or None.
    """

    kind: ClassVar[str] = "action_interactions"
    event_type: str
    action_id: str
    session_id: str
    sent_at: float
    event_id: str
    user_id: str | None = None
    recommendation_id: str | None = None
    impression: tuple[str, ...] | None = None
    properties: str | None = None

    @property
    def record_id(self) -> str:
        """The interaction's ``event_id`` (for log lines: no user data)."""
        return self.event_id

    def to_request(self) -> dict[str, Any]:
        """The entry of PutActionInteractions' ``actionInteractions`` (boto3's names);
        ``timestamp`` is the epoch-seconds float."""
        entry: dict[str, Any] = {
            "actionId": self.action_id,
            "sessionId": self.session_id,
            "timestamp": self.sent_at,
            "eventType": self.event_type,
            "eventId": self.event_id,
        }
        if self.user_id is not None:
            entry["userId"] = self.user_id
        if self.recommendation_id is not None:
            entry["recommendationId"] = self.recommendation_id
        if self.impression is not None:
            entry["impression"] = list(self.impression)
        if self.properties is not None:
            entry["properties"] = self.properties
        return entry

    @classmethod
    def from_request(cls, entry: Mapping[str, Any]) -> ActionInteraction:
        """Rebuild from :meth:`to_request`'s shape, unchecked.

        Raises:
            KeyError: ``actionId``, ``sessionId``, ``timestamp``, ``eventType`` or ``eventId``
                is missing.
        """
        impression = entry.get("impression")
        return cls(
            entry["eventType"],
            entry["actionId"],
            entry["sessionId"],
            entry["timestamp"],
            entry["eventId"],
            entry.get("userId"),
            entry.get("recommendationId"),
            None if impression is None else tuple(impression),
            entry.get("properties"),
        )


def user_log_id(user: User) -> str:
    """A user's id for log lines: a short digest, never the user id itself."""
    return "user:" + hashlib.blake2b(user.user_id.encode(), digest_size=6).hexdigest()


def check_dataset_arn(value: object, option: str) -> str:
    """A dataset ARN option (``items_dataset_arn``...): at most 256 characters matching the
    service model's ``datasetArn`` pattern and, for ``items_dataset_arn``,
    ``users_dataset_arn`` and ``actions_dataset_arn``, the ARN of a dataset of that kind
    (``arn:aws:personalize:<region>:<account>:dataset/<dataset group>/ITEMS``), so that a
    campaign's ARN or two swapped options are caught at the start, not at the first call.

    Raises:
        InvalidEventError: not a str, empty, too long, not a Personalize ARN, or not the ARN of
            the option's dataset.
    """
    kind = option.split("_", 1)[0]
    api = _APIS.get(kind, "PutItems")
    arn = check_text(value, option, _LIMITS.dataset_arn_max, api)
    if not _LIMITS.dataset_arn_pattern.match(arn):
        raise InvalidEventError(
            option,
            "is not an Amazon Personalize dataset ARN",
            f"the pattern {_LIMITS.dataset_arn_pattern.pattern} ({api} API)",
        )
    found = _DATASET_ARN.fullmatch(arn)
    if kind in _APIS and (found is None or found.group(1) != kind.upper()):
        name = kind.capitalize()
        article = "an" if name[0] in "AEIOU" else "a"
        raise InvalidEventError(
            option,
            f"is not the ARN of {article} {name} dataset (another dataset's, or another "
            "resource's: swapped options?)",
            f"{article} {name} dataset ARN (arn:...:dataset/<group>/{kind.upper()})",
        )
    return arn


_APIS = {"items": "PutItems", "users": "PutUsers", "actions": "PutActions"}
_DATASET_ARN = re.compile(r"arn:[^:]+:personalize:[^:]*:[^:]*:dataset/[^/]+/([A-Z]+)")


def _action_impression(value: Iterable[str | int]) -> tuple[str, ...]:
    """An action interaction's ``impression``: 1-25 distinct action ids, in order.

    Raises:
        InvalidEventError: as ``fields.unique_item_ids``, or more than 25 distinct ids (the
            service model's ``ActionInteraction.impression`` maximum).
    """
    unique = unique_item_ids(value, of="action", api=_AI)
    maximum = _LIMITS.interaction_impression_max_items
    if len(unique) > maximum:
        raise InvalidEventError(
            "impression",
            f"has {len(unique)} distinct action ids",
            f"1-{maximum} action ids ({_AI} API)",
        )
    return unique


#: A dataset schema's check of an item's, a user's or an action's camelCase fields.
FieldsCheck = Callable[[dict[str, Any]], dict[str, Any]]


def _properties(
    properties: PropertiesInput, id_argument: str, maximum: int, api: str, check: FieldsCheck | None
) -> str | None:
    if properties is None:
        properties = {}  # a schema may require fields
    return encode_dataset_properties(
        properties, id_argument=id_argument, maximum=maximum, api=api, check=check
    )


def build_item(
    item_id: object,
    properties: PropertiesInput = None,
    check: FieldsCheck | None = None,
    *,
    allow_placeholders: bool = False,
) -> Item:
    """Validate and build an :class:`Item` (see ``Tracker.put_item``).

    Raises:
        InvalidEventError: ``item_id`` is not a str, int or UUID of 1-256 characters, is the
            text of a missing value (``"null"``, ``"None"``, blank..., ``fields.is_placeholder``)
            and ``allow_placeholders`` is False (``Tracker(allow_placeholder_ids=)``), or the
            properties break a rule of :func:`encode_dataset_properties` (32,000 characters) or
            of ``check`` (a dataset schema's, which also sees an absent ``properties`` as {}).
    """
    checked = (
        item_id
        if type(item_id) is str and 0 < len(item_id) <= _ITEM_ID_MAX and item_id.isascii()
        else check_id(item_id, "item_id", _ITEM_ID_MAX, "PutItems")
    )  # an ASCII str of the right length: valid as is (check_id's common case, inline)
    if not allow_placeholders:
        check_placeholder(checked, "item_id")
    if properties is None and check is None:
        return Item(checked)
    return Item(
        checked, _properties(properties, "item_id", _ITEM_PROPERTIES_MAX, "PutItems", check)
    )


def build_user(
    user_id: object,
    properties: PropertiesInput = None,
    check: FieldsCheck | None = None,
    *,
    allow_placeholders: bool = False,
) -> User:
    """Validate and build a :class:`User` (see ``Tracker.put_user``).

    Raises:
        InvalidEventError: ``user_id`` is not a str, int or UUID of 1-256 characters, is a
            placeholder (as for ``build_item``), or the properties break a rule of
            :func:`encode_dataset_properties` (24,000 characters).
    """
    checked = (
        user_id
        if type(user_id) is str and 0 < len(user_id) <= _USER_ID_MAX and user_id.isascii()
        else check_id(user_id, "user_id", _USER_ID_MAX, "PutUsers")
    )  # an ASCII str of the right length: valid as is (check_id's common case, inline)
    if not allow_placeholders:
        check_placeholder(checked, "user_id")
    if properties is None and check is None:
        return User(checked)
    return User(
        checked, _properties(properties, "user_id", _USER_PROPERTIES_MAX, "PutUsers", check)
    )


def build_action(
    action_id: object,
    properties: PropertiesInput = None,
    check: FieldsCheck | None = None,
    *,
    allow_placeholders: bool = False,
) -> Action:
    """Validate and build an :class:`Action` (see ``Tracker.put_action``).

    Raises:
        InvalidEventError: ``action_id`` is not a str, int or UUID of 1-256 characters, is a
            placeholder (as for ``build_item``), or the properties break a rule of
            :func:`encode_dataset_properties` (32,000 characters).
    """
    checked = (
        action_id
        if type(action_id) is str and 0 < len(action_id) <= _ACTION_ID_MAX and action_id.isascii()
        else check_id(action_id, "action_id", _ACTION_ID_MAX, "PutActions")
    )  # an ASCII str of the right length: valid as is (check_id's common case, inline)
    if not allow_placeholders:
        check_placeholder(checked, "action_id")
    if properties is None and check is None:
        return Action(checked)
    return Action(
        checked, _properties(properties, "action_id", _ACTION_PROPERTIES_MAX, "PutActions", check)
    )


def check_action_event_type(value: object) -> str:
    """An action interaction's ``event_type``: ``"Viewed"``, ``"Taken"`` or ``"Not Taken"``.

    Raises:
        InvalidEventError: anything else, saying what was given (its length if long) and, when
            only the case or the space differs, which type was meant.
    """
    if type(value) is str and value in ACTION_INTERACTION_EVENT_TYPES:
        return value
    if not isinstance(value, str):
        raise InvalidEventError("event_type", f"must be a str, got {type(value).__name__}")
    meant = _EVENT_TYPES_BY_CASE.get(value.lower().replace(" ", "").replace("_", ""))
    given = repr(value) if len(value) <= 40 else f"a str of {len(value)} characters"
    problem = f"is {given}" + (f"; did you mean {meant!r}?" if meant else "")
    raise InvalidEventError(
        "event_type",
        problem,
        "one of 'Viewed', 'Taken', 'Not Taken' (PutActionInteractions API)",
    )


def build_action_interaction(
    event_type: object,
    action_id: object,
    session_id: object,
    user_id: object = None,
    sent_at: SentAtInput = None,
    event_id: object = None,
    properties: PropertiesInput = None,
    recommendation_id: object = None,
    impression: Iterable[str | int] | None = None,
    *,
    allow_placeholders: bool = False,
) -> ActionInteraction:
    """Validate and build an :class:`ActionInteraction` (see ``Tracker.track_action``).

    Raises:
        InvalidEventError: a field breaks a PutActionInteractions rule: the event type (see
            :func:`check_action_event_type`), ids of 1-256 characters, ``recommendation_id`` of
            at most 40, ``impression`` of 1-25 ids, properties of at most 1,024 characters
            (see ``encode_interaction_properties``), ``sent_at`` an aware datetime or epoch
            seconds; an id (action, session, user) that is the text of a missing value, unless
            ``allow_placeholders``.
    """
    checked_type = check_action_event_type(event_type)
    checked_action = check_id(action_id, "action_id", _LIMITS.action_id_max, _AI)
    checked_session = check_id(session_id, "session_id", MAX_SESSION_ID, _AI)
    checked_user = (
        None if user_id is None else check_id(user_id, "user_id", _LIMITS.user_id_max, _AI)
    )
    if not allow_placeholders:
        check_placeholder(checked_action, "action_id")
        check_placeholder(checked_session, "session_id")
        if checked_user is not None:
            check_placeholder(checked_user, "user_id")
    return ActionInteraction(
        checked_type,
        checked_action,
        checked_session,
        time.time() if sent_at is None else check_sent_at(sent_at),
        next(event_ids.ids)
        if event_id is None
        else check_text(event_id, "event_id", LIMITS.event_id_max, _AI),
        checked_user,
        None
        if recommendation_id is None
        else check_text(
            recommendation_id, "recommendation_id", _LIMITS.interaction_recommendation_id_max, _AI
        ),
        None if impression is None else _action_impression(impression),
        None if properties is None else encode_interaction_properties(properties),
    )
