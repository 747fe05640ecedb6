"""Contextual metadata: ``properties`` keys in camelCase, values checked, encoded as the
PutEvents JSON string (at most 1024 characters).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from numbers import Real
from typing import Any

from .._errors import InvalidEventError
from .._limits import LIMITS
from .fields import length_of, utf16_length

__all__ = [
    "MAX_CATEGORY_LENGTH",
    "encode_normalised",
    "encode_properties",
    "normalise_properties",
    "to_camel_case",
]

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


#: Longest categorical value, in characters (Amazon Personalize dataset requirements: "Categorical
#: values can have at most 1000 characters"). Checked for every string value of ``properties`` and
#: every value of a multi-valued (list) field.
MAX_CATEGORY_LENGTH = 1000
_CATEGORY_LIMIT = f"at most {MAX_CATEGORY_LENGTH} characters per value (Personalize datasets)"

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
        # A multi-valued categorical field: Personalize reads values separated by "|" (a set's
        # in sorted order: the same set, the same text).
        parts = []
        for part in sorted(value, key=str) if isinstance(value, (set, frozenset)) else value:
            if isinstance(part, bool) or not isinstance(part, (str, int, float)):
                raise InvalidEventError(
                    f"properties.{key}",
                    f"has a list item of type {type(part).__name__}",
                    "a multi-valued field takes strings or numbers",
                )
            parts.append(_category(key, str(part)))
        return "|".join(parts)
    if isinstance(value, (Real, Decimal)):
        try:
            number = float(value)
        except (OverflowError, ValueError):  # an int subclass past 1e308; Decimal('sNaN')
            number = math.nan
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
        # Exact str only: an object equal to a checked key (same hash) is not that key.
        name = _checked_keys.get(key) if type(key) is str else None
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
        try:
            encoded.encode("utf-8")  # only here: ASCII text cannot hold a lone surrogate
        except UnicodeEncodeError:
            _refuse_surrogates(value)
    return encoded


def _refuse_surrogates(value: Mapping[str, Any]) -> None:
    """Name the key or value of ``value`` that holds a lone surrogate (``"\\ud800"``): PutEvents
    takes a UTF-8 body, and neither the spool nor the dead-letter file could write it.

    Raises:
        InvalidEventError: always, naming ``properties.<key>``.
    """
    for key, item in value.items():
        for text in (key, item):
            if type(text) is str and not text.isascii():
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise InvalidEventError(
                        f"properties.{key.encode('utf-8', 'backslashreplace').decode()}",
                        f"has a lone surrogate at character {exc.start} of its "
                        f"{'key' if text is key else 'value'}, which UTF-8 cannot encode",
                        "Unicode text encodable as UTF-8 (PutEvents takes a UTF-8 JSON body)",
                    ) from None
    raise InvalidEventError(  # pragma: no cover - the encoding held one: a value found it
        "properties", "has a lone surrogate, which UTF-8 cannot encode"
    )


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
    # (a character is at most 2 UTF-16 code units: short encodings need no count)
    if len(encoded) * 2 > LIMITS.properties_max:
        units = utf16_length(encoded)
        if units > LIMITS.properties_max:
            raise InvalidEventError(
                "properties",
                f"encodes to {length_of(encoded, units)}",
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
    if type(properties) is dict:
        try:
            items = tuple(properties.items())
            encoded = _encoded.get(items)  # hashes the keys and values: TypeError for a list
        except Exception:  # an unhashable value (a list), or a value whose __eq__ raised
            return _encode_within_limit(_normalise_properties(properties))
        if encoded is not None:
            for key, value in items:  # equal is not enough: an equal str subclass may differ
                if type(key) is not str or type(value) is not str:
                    break
            else:
                return encoded
        encoded = _encode_within_limit(_normalise_properties(properties))
        if encoded is not None and _strings_only(items):
            if len(_encoded) >= _ENCODED_MAX:
                _encoded.clear()  # bounded; the combinations in use come back at once
            _encoded[items] = encoded
        return encoded
    return _encode_within_limit(_normalise_properties(_as_mapping(properties)))


# Encodings of the properties dicts seen lately, keyed by their items, for dicts whose keys and
# values are all exact ``str`` (the common shape of contextual metadata: a few categorical
# fields whose values repeat from one event to the next). A hit skips the normalisation, the
# checks and the JSON encoding (~2 us for three properties) for a tuple, a lookup and a type check
# (~0.4 us); the checks are the same, since only an encoding that passed them is kept. Exact
# types only: an equal str subclass or other object could normalise differently. No lock (dict
# operations are atomic); cleared when full, so bounded whatever the cardinality of the values.
_encoded: dict[tuple[tuple[str, str], ...], str] = {}
_ENCODED_MAX = 512


def _strings_only(items: tuple[tuple[Any, Any], ...]) -> bool:
    return all(type(key) is str and type(value) is str for key, value in items)
