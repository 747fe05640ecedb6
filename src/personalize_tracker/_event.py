"""The event record and its validation: everything ``track()`` checks before an event is queued.

Every rule here is a PutEvents rule (limits read from botocore's service model, see ``_limits``) or
one that botocore would otherwise get silently wrong (naive datetimes, milliseconds for seconds).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from itertools import chain, count, repeat
from numbers import Integral, Real
from typing import Any, cast

import attrs

from ._errors import InvalidEventError
from ._limits import LIMITS
from .typing import PropertiesInput, SentAtInput

__all__ = [
    "Event",
    "PropertiesInput",
    "SentAtInput",
    "encode_normalised",
    "encode_properties",
    "new_event_id",
    "normalise_properties",
    "to_camel_case",
]


# Epoch seconds above this are far in the future (year 5138): such a number is almost surely in
# milliseconds, microseconds or nanoseconds. Each unit is a factor 1000 further.
_MAX_EPOCH_SECONDS = 1e11
_UNIT_NAMES = ("milliseconds", "microseconds", "nanoseconds")
_UNIT_DIVISORS = {"milliseconds": "1,000", "microseconds": "1,000,000", "nanoseconds": "10**9"}

# Keys PutEvents forbids in properties (compared in lower case, after normalising), with the
# argument that carries each instead.
_RESERVED_KEYS = {
    "userid": "user_id",
    "sessionid": "session_id",
    "eventtype": "event_type",
    "timestamp": "sent_at",
    "recommendationid": "recommendation_id",
    "impression": "impression",
    "itemid": "item_id",
    "eventvalue": "event_value",
}

_ID_LIMIT = "1-{max} characters (PutEvents API)"
_MAX_EVENT_TYPE = LIMITS.event_type_max
_MAX_SESSION_ID = LIMITS.session_id_max
_MAX_USER_ID = LIMITS.user_id_max
_MAX_ITEM_ID = LIMITS.item_id_max
_time = time.time

#: Longest categorical value, in characters (Amazon Personalize dataset requirements: "Categorical
#: values can have at most 1000 characters"). Checked for every string value of ``properties`` and
#: every value of a multi-valued (list) field.
MAX_CATEGORY_LENGTH = 1000
_CATEGORY_LIMIT = f"at most {MAX_CATEGORY_LENGTH} characters per value (Personalize datasets)"


# --------------------------------------------------------------------------------------------
# event ids


_BLOCK = 4096
_ENDINGS = tuple(map("%03x".__mod__, range(_BLOCK)))


class _EventIdSource:
    """Cheap unique event ids: a random per-process prefix and a counter.

    ``uuid4()`` costs an ``os.urandom`` call per event; this costs a counter step and a format.
    The prefix is renewed in a forked child, so parent and child never hand out the same id.
    """

    def __init__(self) -> None:
        self._renew()

    def _renew(self) -> None:
        # 64 random bits in 13 lowercase base32 characters (16 in hex): 3 bytes less per event,
        # and no "-" or "_" that could start an id.
        self.prefix = base64.b32encode(os.urandom(8)).decode().rstrip("=").lower() + "-"
        # prefix + the counter in hex. Blocks of 4096 ids share "prefix + counter // 4096 in
        # hex", and each id appends one of the 4096 three-digit endings made once: a string
        # concatenation per id, ~50 ns less than formatting the counter (~190 ns; an f-string
        # with a format spec ~240). Counting from block 1, the ids are exactly
        # f"{prefix}{n:x}" for n = 4096, 4097, ...: increasing, no leading zero. Every step is
        # a C call (no Python code), so next() on it is atomic under the GIL.
        blocks = map(f"{self.prefix}%x".__mod__, count(1))
        self.ids = chain.from_iterable(
            map(map, repeat(str.__add__), map(repeat, blocks, repeat(_BLOCK)), repeat(_ENDINGS))
        )
        self.pid = os.getpid()

    def renew_after_fork(self) -> None:
        """Renew the prefix if this process forked since it was drawn (idempotent)."""
        if self.pid != os.getpid():
            self._renew()

    def next(self) -> str:
        return next(self.ids)


_ids = _EventIdSource()
if hasattr(os, "register_at_fork"):  # pragma: no branch - always on POSIX
    os.register_at_fork(after_in_child=_ids.renew_after_fork)


def renew_event_ids_after_fork() -> None:
    """Draw a new event-id prefix if this process forked since the last one (idempotent).

    ``os.register_at_fork`` does it for ordinary forks; the Tracker calls this when its
    process-id check finds a fork that ran no Python hooks (uWSGI), before drawing an id.
    """
    _ids.renew_after_fork()


def new_event_id() -> str:
    """Return a new event id (str, 15+ characters), unique across processes and forks."""
    return _ids.next()


# --------------------------------------------------------------------------------------------
# the record


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
        converted with ``str()``). See ``Tracker.track`` for each argument.

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


_new_event = _event_constructor()


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
) -> Event:
    """:meth:`Event.create` with positional arguments: the body of ``create`` and of the
    session and schema paths (a call with keyword arguments costs ~120 ns more).
    ``Tracker.track()``'s fast path repeats these checks inline, in the same order
    (``tests/test_inbox.py`` holds the two to the same events and errors).
    ``prepared``: ``properties`` is already encoded (see :func:`encode_properties`) and
    ``impression`` already checked, by a session or a schema check.

    Fields are checked in declaration order, so the first bad one is the one reported.

    Raises:
        InvalidEventError: as :meth:`Event.create`.
    """
    # The common cases are checked inline (this runs on the caller's request path); anything
    # unusual goes through the full validators, which also build the error messages.
    if type(event_type) is not str or not 0 < len(event_type) <= _MAX_EVENT_TYPE:
        event_type = _text(event_type, "event_type", LIMITS.event_type_max)
    if type(session_id) is not str or not 0 < len(session_id) <= _MAX_SESSION_ID:
        session_id = _ident(session_id, "session_id", LIMITS.session_id_max)
    if user_id is not None and (type(user_id) is not str or not 0 < len(user_id) <= _MAX_USER_ID):
        user_id = _ident(user_id, "user_id", LIMITS.user_id_max)
    if item_id is not None and (type(item_id) is not str or not 0 < len(item_id) <= _MAX_ITEM_ID):
        item_id = _ident(item_id, "item_id", LIMITS.item_id_max)
    return (_new_event if cls is Event else cls)(
        event_type,
        session_id,
        _time() if sent_at is None else _sent_at(sent_at),
        next(_ids.ids) if event_id is None else _text(event_id, "event_id", LIMITS.event_id_max),
        user_id,
        item_id,
        None if event_value is None else _number(event_value, "event_value"),
        properties  # type: ignore[arg-type]
        if prepared or properties is None
        else encode_properties(properties),
        None
        if recommendation_id is None
        else _text(recommendation_id, "recommendation_id", LIMITS.recommendation_id_max),
        impression  # type: ignore[arg-type]
        if prepared or impression is None
        else _impression(impression),
        None
        if metric_attribution_source is None
        else _attribution_source(metric_attribution_source),
    )


# --------------------------------------------------------------------------------------------
# field validators (each returns the normalised value or raises InvalidEventError)


def _text(value: object, field: str, maximum: int) -> str:
    if type(value) is not str:
        if isinstance(value, str):
            value = str(value)
        else:
            raise InvalidEventError(field, f"must be a str, got {type(value).__name__}")
    if not value:
        raise InvalidEventError(field, "is empty", _ID_LIMIT.format(max=maximum))
    if len(value) > maximum:
        raise InvalidEventError(
            field, f"is {len(value)} characters long", _ID_LIMIT.format(max=maximum)
        )
    return value


def _ident(value: object, field: str, maximum: int) -> str:
    """An id: a str; an integer (not bool: ``int``, NumPy's) or a ``UUID``, converted to str."""
    if type(value) is int:
        return str(value)
    if isinstance(value, Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise InvalidEventError(
            field, f"must be a str, an int or a UUID, got {type(value).__name__}"
        )
    return _text(value, field, maximum)


def _number(value: object, field: str) -> float:
    if (
        type(value) is float
        or type(value) is int
        or (isinstance(value, (Real, Decimal)) and not isinstance(value, bool))
    ):
        number = float(value)  # a Decimal (e.g. a Django DecimalField price) too
    else:
        raise InvalidEventError(
            field, f"must be a number (int, float or Decimal), got {type(value).__name__}"
        )
    if not math.isfinite(number):
        raise InvalidEventError(field, f"is {number}", "a finite number (PutEvents API)")
    return number


def _sent_at(value: SentAtInput) -> float:
    if value is None:
        return time.time()
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidEventError(
                "sent_at",
                "is a naive datetime; botocore would read it as UTC and shift it by this host's "
                "UTC offset",
                "an aware datetime (e.g. datetime.now(timezone.utc)) or epoch seconds",
            )
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidEventError(
            "sent_at",
            f"must be an aware datetime or epoch seconds, got {type(value).__name__}",
        )
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidEventError("sent_at", f"is {seconds}", "epoch seconds, 0 or more")
    if seconds >= _MAX_EPOCH_SECONDS:
        unit = _UNIT_NAMES[min(int(math.log10(seconds / _MAX_EPOCH_SECONDS) // 3), 2)]
        raise InvalidEventError(
            "sent_at",
            f"{value!r} looks like epoch {unit}, not seconds (it would be after the year 5000)",
            f"epoch seconds: divide by {_UNIT_DIVISORS[unit]}",
        )
    return seconds


#: The PutEvents rule for ``impression``.
IMPRESSION_LIMIT = f"1-{LIMITS.impression_max_items} item ids (PutEvents API)"


def unique_item_ids(value: Iterable[str | int], field: str = "impression") -> tuple[str, ...]:
    """Validate item ids (str or int, 1-256 characters) and return them distinct, in order.

    Raises:
        InvalidEventError: ``value`` is a single string or not iterable, an id is empty, too long
            or not a str/int, or no id is left. The count is not checked (see ``_impression``).
    """
    if isinstance(value, (str, bytes)):
        raise InvalidEventError(
            field, "must be a list of item ids, got a single string", IMPRESSION_LIMIT
        )
    try:
        ids = [_ident(item, f"{field}[{i}]", LIMITS.item_id_max) for i, item in enumerate(value)]
    except TypeError:
        raise InvalidEventError(
            field, f"must be a list of item ids, got {type(value).__name__}"
        ) from None
    unique = tuple(dict.fromkeys(ids))  # order kept, repeats removed
    if not unique:
        raise InvalidEventError(field, "is empty", IMPRESSION_LIMIT)
    return unique


def _impression(value: Iterable[str | int]) -> tuple[str, ...]:
    unique = unique_item_ids(value)
    if len(unique) > LIMITS.impression_max_items:
        raise InvalidEventError(
            "impression",
            f"has {len(unique)} distinct item ids; pass truncate_impressions=True to the Tracker "
            "to keep the first ones",
            IMPRESSION_LIMIT,
        )
    return unique


def _attribution_source(value: object) -> str:
    field = "metric_attribution_source"
    if not isinstance(value, str):
        raise InvalidEventError(field, f"must be a str, got {type(value).__name__}")
    limit = f"printable ASCII, not blank, at most {LIMITS.attribution_source_max} characters"
    if len(value) > LIMITS.attribution_source_max:
        raise InvalidEventError(field, f"is {len(value)} characters long", limit)
    if not LIMITS.attribution_source_pattern.match(value):
        raise InvalidEventError(field, "is blank or has characters outside printable ASCII", limit)
    return value


# --------------------------------------------------------------------------------------------
# properties (contextual metadata)

# No lock: a dict assignment is atomic, and a lock here could be inherited held by a forked child.
_camel_cache: dict[str, str] = {}
_UPPER_SNAKE = re.compile(r"^[A-Z0-9_]+$")


def to_camel_case(name: str) -> str:
    """Return the properties key Personalize expects for an Interactions schema field name.

    ``"DEVICE_TYPE"``, ``"device_type"`` and ``"deviceType"`` all give ``"deviceType"``;
    ``"LOCATION"`` gives ``"location"``. Results are cached (keys are few and repeat).
    """
    cached = _camel_cache.get(name)
    if cached is not None:
        return cached
    if "_" in name or _UPPER_SNAKE.match(name):
        parts = [part for part in name.split("_") if part]
        result = "".join(
            part.lower() if i == 0 else part[:1].upper() + part[1:].lower()
            for i, part in enumerate(parts)
        )
    else:
        result = name[:1].lower() + name[1:]
    if len(_camel_cache) < 10_000:  # bounded: keys are meant to be schema field names
        _camel_cache[name] = result
    return result


def _category(key: str, value: str) -> str:
    if len(value) > MAX_CATEGORY_LENGTH:
        raise InvalidEventError(
            f"properties.{key}", f"has a value {len(value)} characters long", _CATEGORY_LIMIT
        )
    return value


def _property_value(key: str, value: object) -> str | int | float | bool:
    if type(value) is str:
        return value if len(value) <= MAX_CATEGORY_LENGTH else _category(key, value)
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return _category(key, str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEventError(
                f"properties.{key}", f"is {value}", "a finite number, a string or a boolean"
            )
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        # A multi-valued categorical field: Personalize reads values separated by "|".
        parts = []
        for part in value:
            if isinstance(part, bool) or not isinstance(part, (str, int, float)):
                raise InvalidEventError(
                    f"properties.{key}",
                    f"has a list item of type {type(part).__name__}",
                    "a multi-valued field takes strings or numbers",
                )
            parts.append(_category(key, str(part)))
        return "|".join(parts)
    if isinstance(value, (Real, Decimal)):
        number = float(value)
        if not math.isfinite(number):
            raise InvalidEventError(
                f"properties.{key}", f"is {number}", "a finite number, a string or a boolean"
            )
        return number
    raise InvalidEventError(
        f"properties.{key}",
        f"has a value of type {type(value).__name__}",
        "a string, number, boolean, or list of strings (multi-valued categorical field)",
    )


# Property keys seen before, mapped to their camelCase name once checked (not reserved). Keys are
# schema field names: few, and repeated on every event. Bounded, in case keys are data.
_checked_keys: dict[str, str] = {}


def _property_name(key: object) -> str:
    """Check a property key and return its camelCase name (cached)."""
    if not isinstance(key, str) or not key:
        raise InvalidEventError("properties", f"has a key {key!r} that is not a non-empty str")
    name = to_camel_case(key)
    reserved = _RESERVED_KEYS.get(name.lower())
    if reserved is not None:
        raise InvalidEventError(
            f"properties.{key}",
            f"is reserved by PutEvents; pass it as {reserved}= instead",
            "properties may not use userId, sessionId, eventType, timestamp, recommendationId, "
            "impression, itemId or eventValue (PutEvents API)",
        )
    if len(_checked_keys) < 10_000:
        _checked_keys[key] = name
    return name


def _normalise_properties(raw: Mapping[str, Any], keep_none: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {}
    absent: list[str] | None = None  # names whose value was None (dropped unless keep_none)
    for key, value in raw.items():
        name = _checked_keys.get(key)
        if name is None:
            name = _property_name(key)
        if name in result or (absent is not None and name in absent):
            other = next(
                k for k in raw if k != key and _checked_keys.get(k, _property_name(k)) == name
            )
            raise InvalidEventError(
                f"properties.{key}",
                f"and properties.{other} are both the field {name!r} once in camelCase",
            )
        kind = type(value)
        if kind is str:
            result[name] = value if len(value) <= MAX_CATEGORY_LENGTH else _category(key, value)
        elif kind is int or kind is bool:
            result[name] = value
        elif value is None:  # an absent value: the field is left out
            if keep_none:
                result[name] = None
            else:
                absent = [name] if absent is None else [*absent, name]
        else:
            result[name] = _property_value(key, value)
    return result


def _as_mapping(properties: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(properties, str):
        try:
            parsed = json.loads(properties)
        except json.JSONDecodeError as exc:
            raise InvalidEventError("properties", f"is not valid JSON ({exc.msg})") from None
        if not isinstance(parsed, dict):
            raise InvalidEventError(
                "properties", f"must hold a JSON object, got {type(parsed).__name__}"
            )
        return parsed
    if not isinstance(properties, Mapping):
        raise InvalidEventError(
            "properties",
            f"must be a mapping or a JSON object string, got {type(properties).__name__}",
        )
    return properties


def normalise_properties(
    properties: Mapping[str, Any] | str, *, keep_none: bool = False
) -> dict[str, Any]:
    """Validate contextual metadata and return it with camelCase keys, not yet encoded.

    The first half of :func:`encode_properties`: session context and event properties are
    normalised separately, merged (event wins), checked against an Interactions schema, then
    encoded with :func:`encode_normalised`.

    Args:
        properties: as for :func:`encode_properties`.
        keep_none: keep ``None`` values (as "leave this field out" markers that override a
            default when merged) instead of dropping them.

    Returns:
        A new dict from camelCase key to str, int, float, bool (or ``None`` with ``keep_none``);
        a list value is already joined with ``"|"``.

    Raises:
        InvalidEventError: as :func:`encode_properties`, except for the encoded length.
    """
    return _normalise_properties(_as_mapping(properties), keep_none)


def _json_encoder(ensure_ascii: bool) -> Callable[[Any], str]:
    """A compact JSON encoder for flat objects of str, int, float and bool.

    ``JSONEncoder.encode`` builds a new C encoder object on every call (~1.5 µs for three
    properties); this builds json's C encoder once and reuses it (~0.6 µs), falling back to
    ``JSONEncoder.encode`` where the C accelerator is missing or its signature differs. No
    circular-reference check: normalised properties hold no containers.
    """
    fallback = json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=ensure_ascii, allow_nan=False, check_circular=False
    ).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    quote = json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring

    def unsupported(value: object) -> object:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    try:
        c_encoder = make(None, unsupported, quote, None, ":", ",", False, False, False)  # type: ignore[misc]
        join = "".join

        def encode(value: Any) -> str:
            return join(c_encoder(value, 0))

        sample = {"a": "é\n", "b": 1, "c": 2.5, "d": True}
        if encode(sample) != fallback(sample):  # pragma: no cover - a changed json module
            return fallback
    except Exception:  # pragma: no cover - no C accelerator, or another signature
        return fallback
    return encode


# Reused encoders: json.dumps() with non-default options builds a new encoder on every call.
_ascii_json = _json_encoder(ensure_ascii=True)
_unicode_json = _json_encoder(ensure_ascii=False)


def _encode_json(value: Mapping[str, Any]) -> str:
    """Compact JSON; non-ASCII text is kept as is (not \\u-escaped, which would count six
    characters each against the 1024-character limit)."""
    encoded = _ascii_json(value)
    if "\\u" in encoded:  # non-ASCII text (or an escaped control character): keep it unescaped
        encoded = _unicode_json(value)
    return encoded


def encode_normalised(normalised: Mapping[str, Any]) -> str | None:
    """Encode normalised properties (see :func:`normalise_properties`) as the PutEvents string.

    ``None`` values are left out.

    Returns:
        A compact JSON object, or ``None`` when nothing is left to send.

    Raises:
        InvalidEventError: the encoding is longer than 1024 characters (PutEvents API).
    """
    if None in normalised.values():
        normalised = {k: v for k, v in normalised.items() if v is not None}
    return _encode_within_limit(normalised)


def _encode_within_limit(normalised: Mapping[str, Any]) -> str | None:
    """Encode properties without None values; None when empty; check the 1024-character limit."""
    if not normalised:
        return None
    encoded = _encode_json(normalised)
    if len(encoded) > LIMITS.properties_max:
        raise InvalidEventError(
            "properties",
            f"encodes to {len(encoded)} characters",
            f"at most {LIMITS.properties_max} characters of JSON (PutEvents API)",
        )
    return encoded


def encode_properties(properties: Mapping[str, Any] | str) -> str | None:
    """Validate contextual metadata and encode it as the PutEvents ``properties`` string.

    Args:
        properties: a mapping of Interactions schema field names (``DEVICE_TYPE``,
            ``device_type`` or ``deviceType``) to values (str, int, float, bool; a list or tuple
            is a multi-valued categorical field, joined with ``"|"``; ``None`` leaves the field
            out), or a string holding such a JSON object.

    Returns:
        A compact JSON object with camelCase keys, or ``None`` when nothing is left to send.

    Raises:
        InvalidEventError: not a JSON object, a key reserved by PutEvents (``userId``,
            ``sessionId``, ``eventType``, ``timestamp``, ``recommendationId``, ``impression``;
            ``itemId`` and ``eventValue`` have their own arguments), two keys that are the same
            field once in camelCase, an unsupported value, a string value or list item longer
            than 1000 characters (Personalize's limit for categorical values), or an encoding
            longer than 1024 characters (PutEvents API).
    """
    return _encode_within_limit(_normalise_properties(_as_mapping(properties)))
