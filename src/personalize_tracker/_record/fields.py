"""The checks of one field of a record: each returns the normalised value or raises
:class:`~personalize_tracker.InvalidEventError` naming the field, the problem and the limit.

Every rule here is a PutEvents rule (limits read from botocore's service model, see ``_limits``) or
one that botocore would otherwise get silently wrong (naive datetimes, milliseconds for seconds).
"""

from __future__ import annotations

import datetime as _dt
import math
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal
from numbers import Integral, Real

from .._errors import InvalidEventError
from .._limits import LIMITS
from ..typing import SentAtInput

__all__ = [
    "IMPRESSION_LIMIT",
    "MAX_EVENT_TYPE",
    "MAX_ITEM_ID",
    "MAX_SESSION_ID",
    "MAX_USER_ID",
    "check_attribution_source",
    "check_id",
    "check_impression",
    "check_number",
    "check_sent_at",
    "check_text",
    "unique_item_ids",
]

# Epoch seconds above this are far in the future (year 5138): such a number is almost surely in
# milliseconds, microseconds or nanoseconds. Each unit is a factor 1000 further.
_MAX_EPOCH_SECONDS = 1e11
_UNIT_NAMES = ("milliseconds", "microseconds", "nanoseconds")
_UNIT_DIVISORS = {"milliseconds": "1,000", "microseconds": "1,000,000", "nanoseconds": "10**9"}

_ID_LIMIT = "1-{max} characters (PutEvents API)"
MAX_EVENT_TYPE = LIMITS.event_type_max
MAX_SESSION_ID = LIMITS.session_id_max
MAX_USER_ID = LIMITS.user_id_max
MAX_ITEM_ID = LIMITS.item_id_max


def check_text(value: object, field: str, maximum: int) -> str:
    """A text field: a str (a str subclass is converted to str) of 1 to ``maximum`` characters.

    Raises:
        InvalidEventError: not a str, empty, or longer than ``maximum`` (the PutEvents API's
            ``max`` of the member, from the service model).
    """
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


def check_id(value: object, field: str, maximum: int) -> str:
    """An id: a str of 1 to ``maximum`` characters; an integer (not bool: ``int``, NumPy's) or a
    ``UUID``, converted to str.

    Raises:
        InvalidEventError: another type, or a str that :func:`check_text` refuses.
    """
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
    return check_text(value, field, maximum)


def check_number(value: object, field: str) -> float:
    """A finite number (int, float, Decimal or another ``numbers.Real``; not bool), as a float.

    Raises:
        InvalidEventError: not a number, a bool, NaN or infinite.
    """
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


def check_sent_at(value: SentAtInput) -> float:
    """``sent_at`` as epoch seconds (float): an aware datetime, or epoch seconds; ``None`` is now.

    Raises:
        InvalidEventError: a naive datetime (botocore would take it as UTC), another type, a
            negative or non-finite number, or one that looks like milliseconds or finer (past
            the year 5000).
    """
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
            or not a str/int, or no id is left. The count is not checked (see
            :func:`check_impression`).
    """
    if isinstance(value, (str, bytes)):
        raise InvalidEventError(
            field, "must be a list of item ids, got a single string", IMPRESSION_LIMIT
        )
    try:
        ids = [check_id(item, f"{field}[{i}]", LIMITS.item_id_max) for i, item in enumerate(value)]
    except TypeError:
        raise InvalidEventError(
            field, f"must be a list of item ids, got {type(value).__name__}"
        ) from None
    unique = tuple(dict.fromkeys(ids))  # order kept, repeats removed
    if not unique:
        raise InvalidEventError(field, "is empty", IMPRESSION_LIMIT)
    return unique


def check_impression(value: Iterable[str | int]) -> tuple[str, ...]:
    """An ``impression``: 1-25 distinct item ids (see :func:`unique_item_ids`), order kept.

    Raises:
        InvalidEventError: as :func:`unique_item_ids`, or more than 25 distinct ids (the
            PutEvents maximum; a Tracker with ``truncate_impressions`` keeps the first 25).
    """
    unique = unique_item_ids(value)
    if len(unique) > LIMITS.impression_max_items:
        raise InvalidEventError(
            "impression",
            f"has {len(unique)} distinct item ids; pass truncate_impressions=True to the Tracker "
            "to keep the first ones",
            IMPRESSION_LIMIT,
        )
    return unique


def check_attribution_source(value: object) -> str:
    """``metricAttribution.eventAttributionSource``: printable ASCII, not blank, at most 1024
    characters (the PutEvents API's pattern and ``max``, from the service model).

    Raises:
        InvalidEventError: not a str, too long, blank or outside printable ASCII.
    """
    field = "metric_attribution_source"
    if not isinstance(value, str):
        raise InvalidEventError(field, f"must be a str, got {type(value).__name__}")
    limit = f"printable ASCII, not blank, at most {LIMITS.attribution_source_max} characters"
    if len(value) > LIMITS.attribution_source_max:
        raise InvalidEventError(field, f"is {len(value)} characters long", limit)
    if not LIMITS.attribution_source_pattern.match(value):
        raise InvalidEventError(field, "is blank or has characters outside printable ASCII", limit)
    return value
