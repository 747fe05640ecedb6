"""The metadata of items, users and actions: the ``properties`` of PutItems, PutUsers and
PutActions, normalised as events' are (camelCase keys, lists joined with ``"|"``), with their
own rules: the record's id is the only reserved key, the object may hold up to 32,000 (users:
24,000) characters, and a value of a multi-valued field may not hold ``"|"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._errors import InvalidEventError
from .fields import length_of, utf16_length
from .properties import (
    MAX_CATEGORY_LENGTH,
    _as_mapping,
    _ascii_json,
    _encode_json,
    _property_value,
    encode_properties,
    to_camel_case,
)

__all__ = ["encode_dataset_properties", "encode_interaction_properties"]

_MULTI_VALUED = (list, tuple, set, frozenset)


def _check_separator(key: object, values: Any) -> None:
    """Refuse a multi-valued field's value holding ``"|"``, its separator (``["a|b"]`` would be
    sent as ``["a", "b"]``)."""
    for part in values:
        if isinstance(part, str) and "|" in part:
            raise InvalidEventError(
                f"properties.{key}",
                "has a value holding '|'",
                "'|' separates the values of a multi-valued categorical field "
                "(Personalize datasets)",
            )


#: An action interaction's own fields (camelCase, lowered) → the argument that sets them.
_INTERACTION_FIELDS = {"actionid": "action_id", "eventid": "event_id"}


def encode_interaction_properties(properties: Mapping[str, Any] | str) -> str | None:
    """The ``properties`` of an action interaction: as an event's (``encode_properties``:
    camelCase keys, PutEvents' reserved keys, at most 1,000 characters a categorical value and
    1,024 in all), and, as the datasets' metadata, neither the interaction's own ``actionId``
    or ``eventId`` as a key nor a multi-valued field's value holding ``"|"``.

    Raises:
        InvalidEventError: as ``encode_properties``; a key that is the interaction's own field
            (naming the argument to use); a list value holding ``"|"``.
    """
    raw = _as_mapping(properties)
    for key, value in raw.items():
        own = _INTERACTION_FIELDS.get(to_camel_case(key).lower()) if type(key) is str else None
        if own is not None:
            raise InvalidEventError(
                f"properties.{key}",
                f"is the interaction's own field; pass it as {own}= instead",
                "properties may not hold actionId or eventId (PutActionInteractions API)",
            )
        if isinstance(value, _MULTI_VALUED):
            _check_separator(key, value)
    try:
        return encode_properties(raw)
    except InvalidEventError as error:  # its rules are PutEvents': say which call's they are
        problem, limit = error.problem, error.limit
        problem = problem.replace("PutEvents", "PutActionInteractions")
        limit = None if limit is None else limit.replace("PutEvents", "PutActionInteractions")
        raise InvalidEventError(error.field, problem, limit) from None


def _values(key: object, values: Any) -> tuple[str, ...]:
    """A multi-valued field's values, for a schema's check: str (numbers as text), none holding
    ``"|"``, a set's sorted (not in hash order); the schema joins them (``DatasetSchema.check``).
    """
    _check_separator(key, values)
    parts = []
    for part in sorted(values, key=str) if isinstance(values, (set, frozenset)) else values:
        if isinstance(part, bool) or not isinstance(part, (str, int, float)):
            raise InvalidEventError(
                f"properties.{key}",
                f"has a list item of type {type(part).__name__}",
                "a multi-valued field takes strings or numbers",
            )
        parts.append(str(part))
    return tuple(parts)


def _dataset_value(key: str, value: object) -> str | int | float | bool:
    """A value of an Items, Users or Actions field: as :func:`_property_value`, without the
    1000-character cap (a textual field holds up to 20,000; the whole object is capped), and a
    multi-valued field's values may not hold ``"|"``, its separator."""
    if type(value) is str or type(value) is int or type(value) is bool:
        return value
    if isinstance(value, _MULTI_VALUED):
        _check_separator(key, value)
    if isinstance(value, str):
        return str(value)
    return _property_value(key, value)


def encode_dataset_properties(
    properties: Mapping[str, Any] | str,
    *,
    id_argument: str,
    maximum: int,
    api: str,
    check: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> str | None:
    """Validate the metadata of an item, a user or an action and encode it as the ``properties``
    string of PutItems, PutUsers or PutActions.

    Args:
        properties: a mapping of schema field names (``GENRES``, ``genres``; sent as camelCase)
            to str, int, float or bool (a list, tuple or set is a multi-valued categorical field,
            joined with ``"|"``; ``None`` leaves the field out), or a JSON object string.
        id_argument: the record's id argument (``"item_id"``): its camelCase name may not be a
            key.
        maximum: the longest encoding, in characters (the service model's ``properties`` max).
        api: the operation, for messages (``"PutItems"``).
        check: a dataset schema's check of the camelCase fields (``DatasetSchema.check``),
            which may raise and may coerce values, or None. It sees a multi-valued field's
            values as a tuple of str (to refuse them for a field that is not categorical, and
            check each value's length) and returns them joined.

    Returns:
        A compact JSON object with camelCase keys, or ``None`` when nothing is left to send.

    Raises:
        InvalidEventError: not a JSON object; a key that is not a non-empty str, is the record's
            id, or is the same field as another once in camelCase; an unsupported value, NaN or
            infinity; a multi-valued field's value holding ``"|"``; an encoding longer than
            ``maximum`` characters.
    """
    names = _dataset_names.get(id_argument)
    if names is None:
        names = _dataset_names[id_argument] = {}
    result: dict[str, Any] = {}
    for key, value in (properties if type(properties) is dict else _as_mapping(properties)).items():
        name = names.get(key) if type(key) is str else None
        if name is None:
            name = _dataset_name(key, id_argument, api, names)
        if name in result:
            raise InvalidEventError(
                f"properties.{key}", f"is the field {name!r} a second time once in camelCase"
            )
        kind = type(value)
        if kind is str or kind is int or kind is bool or (kind is float and value - value == 0.0):
            result[name] = value  # (a float is finite: inf - inf and nan - nan are nan)
        elif check is not None and isinstance(value, _MULTI_VALUED):
            result[name] = _values(key, value)  # the schema sees the list (then joins it)
        elif kind is list and (joined := _joined(value)) is not None:
            result[name] = joined  # a multi-valued field of plain strings
        elif value is not None:
            result[name] = _dataset_value(key, value)
    if check is not None:
        result = check(result)
    if not result:
        return None
    encoded = _ascii_json(result)
    if "\\u" in encoded:  # non-ASCII text: kept as is (see _encode_json)
        encoded = _encode_json(result)
    if len(encoded) * 2 > maximum and (units := utf16_length(encoded)) > maximum:
        raise InvalidEventError(  # (the service counts UTF-16 code units: an emoji is two)
            "properties",
            f"encodes to {length_of(encoded, units)}",
            f"at most {maximum} characters of JSON ({api} API)",
        )
    return encoded


def _joined(values: list[Any]) -> str | None:
    """A list of str values joined with ``"|"`` when none holds ``"|"`` nor is longer than a
    categorical value may be; None otherwise (then :func:`_dataset_value` says what is wrong)."""
    try:
        joined = "|".join(values)
    except TypeError:  # a value that is not a str
        return None
    if joined.count("|") != len(values) - 1:
        return None  # a value holding "|" (or no value at all)
    if len(joined) > MAX_CATEGORY_LENGTH and max(map(len, values)) > MAX_CATEGORY_LENGTH:
        return None
    return joined


# Per id argument ("item_id"...), the property keys seen, mapped to their camelCase name once
# checked (a non-empty str, not the record's id). Keys are schema field names: few, repeated on
# every record. Bounded, in case keys are data; no lock (dict operations are atomic).
_dataset_names: dict[str, dict[str, str]] = {}


def _dataset_name(key: object, id_argument: str, api: str, names: dict[str, str]) -> str:
    """Check a property key of an item, a user or an action; return its camelCase name.

    Raises:
        InvalidEventError: not a non-empty str, or the record's own id.
    """
    if not isinstance(key, str) or not key:
        raise InvalidEventError("properties", f"has a key {key!r} that is not a non-empty str")
    name = to_camel_case(key)
    reserved = to_camel_case(id_argument)
    if name.lower() == reserved.lower():
        raise InvalidEventError(
            f"properties.{key}",
            f"is the record's id; pass it as {id_argument}= instead",
            f"properties may not hold {reserved} ({api} API)",
        )
    if type(key) is str and len(names) < 10_000:
        names[key] = name
    return name
