"""The event record: :class:`Event`, and :func:`build_event`, which validates and builds one.

Every field check is in ``fields`` and ``properties``; this module puts them together in the order
of the record's fields, so the first bad one is the one reported.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import attrs

from .._limits import LIMITS
from ..typing import PropertiesInput, SentAtInput
from .fields import (
    MAX_EVENT_TYPE,
    MAX_ITEM_ID,
    MAX_SESSION_ID,
    MAX_USER_ID,
    check_attribution_source,
    check_id,
    check_impression,
    check_number,
    check_placeholder,
    check_sent_at,
    check_text,
    is_placeholder,
)
from .ids import event_ids
from .properties import encode_properties

__all__ = ["Event", "build_event", "new_event"]

_time = time.time


@attrs.frozen(weakref_slot=False)  # no weak references to events: 8 bytes less per queued event
class Event:
    """One validated interaction event, as it will be sent in a PutEvents ``eventList``.

    Build one with :meth:`Event.create` (which validates and normalises, as ``Tracker.track()``
    does); the plain constructor trusts its arguments.

    Attributes:
        event_type: ``eventType``, 1-256 characters (e.g. ``"click"``).
        session_id: ``sessionId`` of the PutEvents call that carries the event, 1-256 characters.
        sent_at: ``sentAt`` as epoch seconds (float, UTC); sent with millisecond precision.
        event_id: ``eventId``, 1-256 characters; Personalize ignores repeats of an id in training,
            so a resent event is harmless.
        user_id: ``userId`` of the call, or ``None`` for an anonymous visitor.
        item_id: ``itemId``, or ``None``.
        event_value: ``eventValue`` (float), or ``None``.
        properties: ``properties``, a compact JSON object string of at most 1024 characters with
            camelCase keys, or ``None``.
        recommendation_id: ``recommendationId`` (implicit impressions), at most 40 characters.
        impression: ``impression`` (explicit impressions), a tuple of 1-25 item ids, or ``None``.
        metric_attribution_source: ``metricAttribution.eventAttributionSource``, or ``None``.
    """

    event_type: str
    session_id: str
    sent_at: float
    event_id: str
    user_id: str | None = None
    item_id: str | None = None
    event_value: float | None = None
    properties: str | None = None
    recommendation_id: str | None = None
    impression: tuple[str, ...] | None = None
    metric_attribution_source: str | None = None

    @classmethod
    def create(
        cls,
        event_type: str,
        session_id: str | int,
        *,
        user_id: str | int | None = None,
        item_id: str | int | None = None,
        event_value: float | None = None,
        properties: PropertiesInput = None,
        sent_at: SentAtInput = None,
        event_id: str | None = None,
        recommendation_id: str | None = None,
        impression: Iterable[str | int] | None = None,
        metric_attribution_source: str | None = None,
    ) -> Event:
        """Validate and normalise the arguments of ``Tracker.track()`` into an Event.

        Ids may be given as ``str`` or ``int`` (an ``int`` such as a database primary key is
        converted with ``str()``). See ``Tracker.track`` for each argument. An id that is the
        text of a missing value (``"null"``, ``"None"``, ``"undefined"``, ``"nan"``, blank) is
        refused; text with a lone surrogate too.

        Raises:
            InvalidEventError: an argument breaks a PutEvents rule; the error names the field,
                the problem and the limit.
        """
        return build_event(
            event_type,
            session_id,
            user_id,
            item_id,
            event_value,
            properties,
            sent_at,
            event_id,
            recommendation_id,
            impression,
            metric_attribution_source,
            cls,
        )

    @property
    def sent_at_datetime(self) -> _dt.datetime:
        """``sent_at`` as an aware UTC datetime."""
        return _dt.datetime.fromtimestamp(self.sent_at, _dt.timezone.utc)

    def to_dict(self) -> dict[str, Any]:
        """Return the event as a JSON-ready dict: the PutEvents event plus ``sessionId`` and
        ``userId`` (left out when ``None``), as in the spool and the dead-letter file.

        ``sentAt`` is epoch seconds (a float); every other key is the PutEvents member's name.
        """
        record = self.to_put_events()
        record["sessionId"] = self.session_id
        if self.user_id is not None:
            record["userId"] = self.user_id
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any], *, validate: bool = True) -> Event:
        """Rebuild an Event from :meth:`to_dict`'s shape.

        Args:
            record: the dict.
            validate: check every field again, as :meth:`create` does (for files a person may
                have edited); False trusts the record (one this library wrote).

        Raises:
            KeyError: ``eventType``, ``sessionId``, ``eventId`` or ``sentAt`` is missing.
            InvalidEventError: with ``validate``, a field breaks a PutEvents rule.
        """
        attribution = record.get("metricAttribution") or {}
        impression = record.get("impression")
        fields: dict[str, Any] = {
            "user_id": record.get("userId"),
            "item_id": record.get("itemId"),
            "event_value": record.get("eventValue"),
            "properties": record.get("properties"),
            "sent_at": record["sentAt"],
            "event_id": record["eventId"],
            "recommendation_id": record.get("recommendationId"),
            "impression": None if impression is None else tuple(impression),
            "metric_attribution_source": attribution.get("eventAttributionSource"),
        }
        if validate:
            return cls.create(record["eventType"], record["sessionId"], **fields)
        return cls(event_type=record["eventType"], session_id=record["sessionId"], **fields)

    def to_put_events(self) -> dict[str, Any]:
        """Return the event as one entry of the PutEvents ``eventList`` (boto3's parameter names).

        ``sentAt`` is the epoch-seconds float; botocore serialises it (with milliseconds when the
        client was built by this library, see ``Tracker``).
        """
        entry: dict[str, Any] = {
            "eventId": self.event_id,
            "eventType": self.event_type,
            "sentAt": self.sent_at,
        }
        if self.item_id is not None:
            entry["itemId"] = self.item_id
        if self.event_value is not None:
            entry["eventValue"] = self.event_value
        if self.properties is not None:
            entry["properties"] = self.properties
        if self.recommendation_id is not None:
            entry["recommendationId"] = self.recommendation_id
        if self.impression is not None:
            entry["impression"] = list(self.impression)
        if self.metric_attribution_source is not None:
            entry["metricAttribution"] = {"eventAttributionSource": self.metric_attribution_source}
        return entry


class _EventBuilder:
    """Builds an :class:`Event` from its fields in declaration order, like ``Event(...)``, at
    half the cost: ``_EventBuilder(...)`` returns an ``Event``.

    attrs' frozen ``__init__`` sets each slot through ``object.__setattr__`` (a bound-method call
    and a generic attribute lookup per field: ~785 ns for the 11 fields, more than all the rest
    of ``track()``). This class has Event's slots, in the same order, and no frozen
    ``__setattr__``, so its ``__init__`` stores them directly (~300 ns in all), then turns the
    object into an Event (``__class__`` assignment, which Python allows between classes of
    identical slot layout). The result is an ordinary attrs Event: equality, hashing, repr and
    frozenness are attrs'; tests check that it is the same Event as the constructor's, and
    :func:`_event_constructor` checks the layout at import, falling back to ``Event`` itself.
    """

    __slots__ = (  # noqa: RUF023 - the order must be Event's
        "event_type",
        "session_id",
        "sent_at",
        "event_id",
        "user_id",
        "item_id",
        "event_value",
        "properties",
        "recommendation_id",
        "impression",
        "metric_attribution_source",
    )

    def __init__(
        self,
        event_type: str,
        session_id: str,
        sent_at: float,
        event_id: str,
        user_id: str | None = None,
        item_id: str | None = None,
        event_value: float | None = None,
        properties: str | None = None,
        recommendation_id: str | None = None,
        impression: tuple[str, ...] | None = None,
        metric_attribution_source: str | None = None,
    ) -> None:
        self.event_type = event_type
        self.session_id = session_id
        self.sent_at = sent_at
        self.event_id = event_id
        self.user_id = user_id
        self.item_id = item_id
        self.event_value = event_value
        self.properties = properties
        self.recommendation_id = recommendation_id
        self.impression = impression
        self.metric_attribution_source = metric_attribution_source
        self.__class__ = Event  # type: ignore[assignment]


def _event_constructor() -> Callable[..., Event]:
    """:class:`_EventBuilder` when it builds the same Event as ``Event(...)`` (the fields and
    the slots are Event's, in the same order, and this Python allows the ``__class__``
    assignment); otherwise ``Event`` itself."""
    names = tuple(field.name for field in attrs.fields(Event))
    code = _EventBuilder.__init__.__code__
    if (
        names != _EventBuilder.__slots__
        or names != code.co_varnames[1 : code.co_argcount]
        or getattr(Event, "__slots__", None) != names
    ):  # pragma: no cover - a field was added to Event but not here
        raise RuntimeError("Event's fields changed: update _EventBuilder")
    sample = ("t", "s", 1.0, "e", "u", "i", 2.0, "{}", "r", ("i",), "m")
    builder: Callable[..., object] = _EventBuilder
    try:
        built = builder(*sample)
    except TypeError:  # pragma: no cover - an interpreter refusing the __class__ assignment
        return Event
    if type(built) is not Event or built != Event(*sample):  # pragma: no cover
        return Event
    return cast("Callable[..., Event]", builder)


#: Builds an Event from its fields in declaration order (see :class:`_EventBuilder`).
new_event = _event_constructor()


# First characters of an ASCII id that may be a placeholder ("null", "None", "undefined", "nan",
# or blank, with surrounding whitespace): ids starting otherwise are none (one set lookup each).
_SUSPECT = frozenset("nNuU" + "".join(chr(c) for c in range(128) if chr(c).isspace()))


def _refuse_placeholders(session_id: str, user_id: str | None, item_id: str | None) -> None:
    """Raise InvalidEventError for the first id that is the text of a missing value."""
    if is_placeholder(session_id):
        check_placeholder(session_id, "session_id")
    if user_id is not None and is_placeholder(user_id):
        check_placeholder(user_id, "user_id")
    if item_id is not None and is_placeholder(item_id):
        check_placeholder(item_id, "item_id")


def build_event(
    event_type: str,
    session_id: str | int,
    user_id: str | int | None,
    item_id: str | int | None,
    event_value: float | None,
    properties: PropertiesInput,
    sent_at: SentAtInput,
    event_id: str | None,
    recommendation_id: str | None,
    impression: Iterable[str | int] | None,
    metric_attribution_source: str | None,
    cls: type[Event] = Event,
    prepared: bool = False,
    allow_placeholder_ids: bool = False,
) -> Event:
    """:meth:`Event.create` with positional arguments: the body of ``create`` and of the
    session and schema paths (a call with keyword arguments costs ~120 ns more).
    ``Tracker.track()``'s fast path repeats these checks inline, in the same order
    (``tests/test_track_path.py`` holds the two to the same events and errors).
    ``prepared``: ``properties`` is already encoded (see :func:`encode_properties`) and
    ``impression`` already checked, by a session or a schema check. ``allow_placeholder_ids``:
    accept ids that are the text of a missing value (``"null"``, ``"None"``…, see
    ``fields.is_placeholder``), refused by default.

    Fields are checked in declaration order, so the first bad one is the one reported.

    Raises:
        InvalidEventError: as :meth:`Event.create`.
    """
    # The common cases are checked inline (this runs on the caller's request path); anything
    # unusual goes through the full validators, which also build the error messages.
    if (
        type(event_type) is not str
        or not 0 < len(event_type) <= MAX_EVENT_TYPE
        or not event_type.isascii()
    ):
        event_type = check_text(event_type, "event_type", LIMITS.event_type_max)
    if (
        type(session_id) is not str
        or not 0 < len(session_id) <= MAX_SESSION_ID
        or not session_id.isascii()
    ):
        session_id = check_id(session_id, "session_id", LIMITS.session_id_max)
    if user_id is not None and (
        type(user_id) is not str or not 0 < len(user_id) <= MAX_USER_ID or not user_id.isascii()
    ):
        user_id = check_id(user_id, "user_id", LIMITS.user_id_max)
    if item_id is not None and (
        type(item_id) is not str or not 0 < len(item_id) <= MAX_ITEM_ID or not item_id.isascii()
    ):
        item_id = check_id(item_id, "item_id", LIMITS.item_id_max)
    if not allow_placeholder_ids and (
        session_id[0] in _SUSPECT
        or (user_id is not None and user_id[0] in _SUSPECT)
        or (item_id is not None and item_id[0] in _SUSPECT)
    ):
        _refuse_placeholders(session_id, user_id, item_id)
    return (new_event if cls is Event else cls)(
        event_type,
        session_id,
        _time() if sent_at is None else check_sent_at(sent_at),
        next(event_ids.ids)
        if event_id is None
        else check_text(event_id, "event_id", LIMITS.event_id_max),
        user_id,
        item_id,
        None if event_value is None else check_number(event_value, "event_value"),
        properties  # type: ignore[arg-type]
        if prepared or properties is None
        else encode_properties(properties),
        None
        if recommendation_id is None
        else check_text(recommendation_id, "recommendation_id", LIMITS.recommendation_id_max),
        impression  # type: ignore[arg-type]
        if prepared or impression is None
        else check_impression(impression),
        None
        if metric_attribution_source is None
        else check_attribution_source(metric_attribution_source),
    )
