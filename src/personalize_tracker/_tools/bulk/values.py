"""Reading one value of a bulk record as an event field, with a readable :class:`RowError`.

Each ``as_*`` function takes a value as a file or a DataFrame holds it (already known not to be
missing, see :func:`is_missing`) and returns it in the type ``track()`` takes, or raises
:class:`RowError` naming the field (and its column) and the rule. PutEvents' own rules (lengths,
ranges) are left to ``track()``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterable, Mapping
from numbers import Real
from typing import Any

__all__ = [
    "RowError",
    "as_epoch_seconds",
    "as_event_value",
    "as_identifier",
    "as_impression",
    "as_properties",
    "as_text",
    "is_missing",
    "plain",
]


class RowError(ValueError):
    """One record cannot become an event; the message says which field and why."""


def is_missing(value: object) -> bool:
    """None, NaN, pandas' NA and NaT, and empty or blank strings are missing values."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def plain(value: object) -> object:
    """A numpy scalar as the Python value it holds; anything else unchanged."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):  # pragma: no cover - arrays of several values
            return value
    return value


def _where(field: str, column: str | None) -> str:
    return field if column is None or column == field else f"{field} (column {column!r})"


def as_text(value: object) -> str | None:
    """A value as a string (stripped), e.g. a recommendation id; ``None`` stays ``None``."""
    if value is None:
        return None
    return value.strip() if isinstance(value, str) else str(value)


def as_identifier(value: object, field: str, columns: Mapping[str, str]) -> str | int | None:
    """A user, item or session id: a string (stripped) or an integer.

    Args:
        value: the value; a whole float (an integer column that pandas read as float) becomes
            an int.
        field: the field read (``"user_id"``...), for the message.
        columns: field -> column of the record, for the message.

    Raises:
        RowError: a bool, a fractional number, or any other type.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        raise RowError(f"{_where(field, columns.get(field))} is a bool ({value!r}), not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # an integer id column that pandas read as float (it has gaps)
    raise RowError(
        f"{_where(field, columns.get(field))} is {value!r} ({type(value).__name__}); "
        "an id is a string or an integer"
    )


def as_event_value(value: object, column: str | None) -> float | None:
    """An event value as a float: a number, or a string holding one.

    Raises:
        RowError: a bool, a string that is not a number, or any other type.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise RowError(f"{_where('event_value', column)} is {value!r}, not a number") from None
    if isinstance(value, Real) and not isinstance(value, bool):
        return float(value)
    raise RowError(
        f"{_where('event_value', column)} is {value!r} ({type(value).__name__}), not a number"
    )


def as_epoch_seconds(value: object, column: str | None) -> float | None:
    """A timestamp as epoch seconds (float): a number, a numeric string, an aware datetime or an
    ISO 8601 string with an offset (``Z`` for UTC).

    Raises:
        RowError: a bool, a naive datetime, a string that is neither a number nor an ISO 8601
            time, or any other type.
    """
    if value is None:
        return None
    where = _where("timestamp", column)
    if isinstance(value, bool):
        raise RowError(f"{where} is a bool ({value!r}), not a time")
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(int(text))
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            pass
        try:
            value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise RowError(
                f"{where} is {text!r}: expected epoch seconds or an ISO 8601 time with an offset"
            ) from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise RowError(
                f"{where} is a naive datetime ({value}): give it a time zone (for a pandas "
                "column: .dt.tz_localize('UTC')) or use epoch seconds"
            )
        return value.timestamp()
    raise RowError(
        f"{where} is {value!r} ({type(value).__name__}): expected epoch seconds or an aware "
        "datetime"
    )


def as_impression(value: object, column: str | None) -> tuple[str | int, ...] | None:
    """Impression item ids: a string of ids joined with ``|``, or an iterable of ids.

    Returns:
        The ids (blank ones left out of a string), or ``None`` when there are none.

    Raises:
        RowError: an id that is neither a string nor an integer, or a value of another type.
    """
    if value is None:
        return None
    if isinstance(value, str):
        ids: list[str | int] = [part.strip() for part in value.split("|") if part.strip()]
    elif isinstance(value, Iterable):
        ids = []
        for part in value:
            part = plain(part)
            if isinstance(part, float) and part.is_integer():
                part = int(part)
            if isinstance(part, bool) or not isinstance(part, (str, int)):
                raise RowError(
                    f"{_where('impression', column)} holds {part!r}; item ids are strings or "
                    "integers"
                )
            ids.append(part)
    else:
        raise RowError(
            f"{_where('impression', column)} is {value!r}: expected item ids joined with '|' "
            "or a list"
        )
    return tuple(ids) if ids else None


def as_properties(value: object, column: str | None) -> dict[str, Any] | None:
    """Contextual metadata: a mapping, or a string holding a JSON object.

    Raises:
        RowError: a string that is not valid JSON, or a value that is not an object.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowError(
                f"{_where('properties', column)} is not valid JSON ({exc.msg})"
            ) from None
    if not isinstance(value, Mapping):
        raise RowError(
            f"{_where('properties', column)} must be a JSON object or a mapping, got "
            f"{type(value).__name__}"
        )
    return dict(value)
