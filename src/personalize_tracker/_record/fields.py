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
    "check_placeholder",
    "check_sent_at",
    "check_text",
    "check_unicode",
    "is_placeholder",
    "length_of",
    "unique_item_ids",
    "utf16_length",
]

# Epoch seconds above this are far in the future (year 5138): such a number is almost surely in
# milliseconds, microseconds or nanoseconds. Each unit is a factor 1000 further.
_MAX_EPOCH_SECONDS = 1e11
_UNIT_NAMES = ("milliseconds", "microseconds", "nanoseconds")
_UNIT_DIVISORS = {"milliseconds": "1,000", "microseconds": "1,000,000", "nanoseconds": "10**9"}

_ID_LIMIT = "1-{max} characters ({api} API)"
MAX_EVENT_TYPE = LIMITS.event_type_max
MAX_SESSION_ID = LIMITS.session_id_max
MAX_USER_ID = LIMITS.user_id_max
MAX_ITEM_ID = LIMITS.item_id_max


# The text of a missing value, as a caller's code turns None/NaN/undefined into an id (compared
# after strip() and lower()). PutEvents accepts them, and the events of every visitor whose id
# went missing are then one visitor's history (or one item's): the commonest silent bug.
_PLACEHOLDERS = frozenset({"null", "none", "undefined", "nan"})
_PLACEHOLDER_MAX = 9  # "undefined", the longest


def is_placeholder(value: str) -> bool:
    """Whether the id ``value`` is the text of a missing value: ``"null"``, ``"None"``,
    ``"undefined"``, ``"nan"`` (any case, surrounding whitespace ignored), or blank. An id that
    starts with neither whitespace nor n/u (any case) is none (one lookup), nor is one longer
    than 9 characters that neither starts nor ends with whitespace (no copy)."""
    if not value:
        return True
    first = value[0]
    if first not in "nNuU" and not first.isspace():
        return False  # most ids: no placeholder starts so, even once stripped (one lookup)
    if len(value) > _PLACEHOLDER_MAX and not (first.isspace() or value[-1].isspace()):
        return False
    text = value.strip()
    return not text or text.lower() in _PLACEHOLDERS


def check_placeholder(value: str, field: str) -> str:
    """``value`` unless it is the text of a missing value (see :func:`is_placeholder`).

    Raises:
        InvalidEventError: it is; the message says how to allow it
            (``Tracker(allow_placeholder_ids=True)``).
    """
    if is_placeholder(value):
        shown = repr(value) if len(value.strip()) <= _PLACEHOLDER_MAX and value.strip() else "blank"
        raise InvalidEventError(
            field,
            f"is {shown}, the text of a missing value: the service would take every such event "
            "as one visitor's (or item's); pass allow_placeholder_ids=True to the Tracker if it "
            "is a real id",
            "an id that is not 'null', 'None', 'undefined', 'nan' or blank",
        )
    return value


def check_unicode(value: str, field: str) -> str:
    """``value`` if it is text that UTF-8 can carry: no lone surrogate (``"\\ud800"``, what a
    badly decoded UTF-16 string leaves). PutEvents takes UTF-8 JSON; such text cannot be sent,
    spooled or written to the dead-letter file. ASCII text (the common case) is one
    ``str.isascii()``.

    Raises:
        InvalidEventError: ``value`` holds a lone surrogate (its position is named, not the text).
    """
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidEventError(
            field,
            f"has a lone surrogate at character {exc.start}, which UTF-8 cannot encode",
            "Unicode text encodable as UTF-8 (PutEvents takes a UTF-8 JSON body)",
        ) from None
    return value


def utf16_length(text: str) -> int:
    """``text``'s length as the service counts a string's: in UTF-16 code units (a character
    outside the Basic Multilingual Plane, an emoji, is two; the local endpoint counts so too).
    ASCII text (the common case): ``len(text)``."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def length_of(text: str, units: int) -> str:
    """``text``'s length for a message: ``"300 characters"``, or ``"400 UTF-16 code units (200
    characters)"`` when ``units`` (its :func:`utf16_length`) differs."""
    if units == len(text):
        return f"{units} characters"
    return f"{units} UTF-16 code units ({len(text)} characters)"


def check_text(value: object, field: str, maximum: int, api: str = "PutEvents") -> str:
    """A text field: a str (a str subclass is converted to str) of 1 to ``maximum`` characters,
    counted in UTF-16 code units as the service counts them (see :func:`utf16_length`),
    encodable as UTF-8 (see :func:`check_unicode`). ``api``: the operation whose rule it is,
    for messages (``"PutItems"``...).

    Raises:
        InvalidEventError: not a str, empty, longer than ``maximum`` (the ``api``'s ``max`` of
            the member, from the service model), or holding a lone surrogate.
    """
    if type(value) is not str:
        if isinstance(value, str):
            value = str(value)
        else:
            raise InvalidEventError(field, f"must be a str, got {type(value).__name__}")
    if not value:
        raise InvalidEventError(field, "is empty", _ID_LIMIT.format(max=maximum, api=api))
    if len(value) > maximum:
        raise InvalidEventError(
            field, f"is {len(value)} characters long", _ID_LIMIT.format(max=maximum, api=api)
        )
    if value.isascii():
        return value
    check_unicode(value, field)
    units = len(value.encode("utf-16-le")) // 2
    if units > maximum:
        raise InvalidEventError(
            field, f"is {length_of(value, units)} long", _ID_LIMIT.format(max=maximum, api=api)
        )
    return value


def check_id(value: object, field: str, maximum: int, api: str = "PutEvents") -> str:
    """An id: a str of 1 to ``maximum`` characters; an integer (not bool: ``int``, NumPy's) or a
    ``UUID``, converted to str.

    An integer's length is checked on the string it becomes (a 300-digit int is refused).

    Raises:
        InvalidEventError: another type, or a str (given or converted) that :func:`check_text`
            refuses.
    """
    if type(value) is int or (isinstance(value, Integral) and not isinstance(value, bool)):
        try:
            text = str(int(value))
        except ValueError:  # more digits than sys.get_int_max_str_digits() allows
            raise InvalidEventError(
                field,
                "is an int too long to convert to text",
                _ID_LIMIT.format(max=maximum, api=api),
            ) from None
        return check_text(text, field, maximum, api)
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise InvalidEventError(
            field, f"must be a str, an int or a UUID, got {type(value).__name__}"
        )
    return check_text(value, field, maximum, api)


def check_number(value: object, field: str) -> float:
    """A finite number (int, float, Decimal or another ``numbers.Real``; not bool), as a float.

    Raises:
        InvalidEventError: not a number, a bool, NaN (a signalling ``Decimal('sNaN')`` too),
            infinite, or too large for a float (``10**400``): PutEvents' ``eventValue`` is a
            float.
    """
    if (
        type(value) is float
        or type(value) is int
        or (isinstance(value, (Real, Decimal)) and not isinstance(value, bool))
    ):
        try:
            number = float(value)  # a Decimal (e.g. a Django DecimalField price) too
        except (OverflowError, ValueError):  # 10**400; Decimal('sNaN')
            raise InvalidEventError(
                field, "is not representable as a finite float", "a finite number (PutEvents API)"
            ) from None
    else:
        raise InvalidEventError(
            field, f"must be a number (int, float or Decimal), got {type(value).__name__}"
        )
    if not math.isfinite(number):
        raise InvalidEventError(field, f"is {number}", "a finite number (PutEvents API)")
    return number


def check_sent_at(value: SentAtInput) -> float:
    """``sent_at`` as epoch seconds (float): an aware datetime, or epoch seconds; ``None`` is now.

    The range is epoch seconds from 0 (1970) to 10**11 (year 5138), for datetimes too: what
    PutEvents' ``sentAt`` (a timestamp sent as JSON epoch seconds) carries and botocore can
    serialise; an earlier datetime (``datetime(1, 1, 1, tzinfo=utc)``) would fail its whole
    batch at send time.

    Raises:
        InvalidEventError: a naive datetime (botocore would take it as UTC), another type, a
            negative, non-finite or too large number (``10**400``), one that looks like
            milliseconds or finer (past the year 5000), or a datetime outside the range.
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
        seconds = value.timestamp()
        if not 0 <= seconds < _MAX_EPOCH_SECONDS:
            raise InvalidEventError(
                "sent_at",
                f"is {'before 1970' if seconds < 0 else 'after the year 5000'}",
                "epoch seconds from 0 (1970-01-01) to 10**11 (PutEvents sentAt)",
            )
        return seconds
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidEventError(
            "sent_at",
            f"must be an aware datetime or epoch seconds, got {type(value).__name__}",
        )
    try:
        seconds = float(value)
    except (OverflowError, ValueError):  # 10**400; Decimal('sNaN')
        raise InvalidEventError(
            "sent_at", "is not representable as a float", "epoch seconds, 0 or more"
        ) from None
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


def unique_item_ids(
    value: Iterable[str | int], field: str = "impression", *, of: str = "item", api: str = ""
) -> tuple[str, ...]:
    """Validate item ids (str or int, 1-256 characters) and return them distinct, in order.
    ``of`` and ``api`` name the ids and the operation in messages (default: item ids, PutEvents;
    an action interaction's impression: ``of="action"``, ``api="PutActionInteractions"``).

    Raises:
        InvalidEventError: ``value`` is a single string or not iterable, an id is empty, too long
            or not a str/int, or no id is left. The count is not checked (see
            :func:`check_impression`).
    """
    limit = IMPRESSION_LIMIT if not api else f"1-{LIMITS.impression_max_items} {of} ids ({api} API)"
    if isinstance(value, (str, bytes)):
        raise InvalidEventError(field, f"must be a list of {of} ids, got a single string", limit)
    try:
        ids = [
            check_id(item, f"{field}[{i}]", LIMITS.item_id_max, api or "PutEvents")
            for i, item in enumerate(value)
        ]
    except TypeError:
        raise InvalidEventError(
            field, f"must be a list of {of} ids, got {type(value).__name__}"
        ) from None
    unique = tuple(dict.fromkeys(ids))  # order kept, repeats removed
    if not unique:
        raise InvalidEventError(field, "is empty", limit)
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
    if not LIMITS.attribution_source_pattern.fullmatch(value):  # "$" would allow a final "\n"
        raise InvalidEventError(field, "is blank or has characters outside printable ASCII", limit)
    return value
