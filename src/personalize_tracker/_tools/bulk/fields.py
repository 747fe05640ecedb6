"""Which column of a bulk record holds which event field, and one record read as event fields.

:class:`FieldMapping` finds the columns by an explicit mapping, or by name (``user_id``,
``userId`` and ``USER_ID`` are all the user id), and reads a record into :class:`RowFields`; each
value is read by :mod:`.values`, which raises :class:`~.values.RowError` with a readable message
when it cannot be used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from .values import (
    as_epoch_seconds,
    as_event_value,
    as_identifier,
    as_impression,
    as_properties,
    as_text,
    is_missing,
    plain,
)

__all__ = ["CONTEXT_ALL", "FIELDS", "FieldMapping", "RowFields", "normal_name"]

#: The event fields a column can be mapped to (keys of ``mapping=``), besides ``context``.
FIELDS = (
    "user_id",
    "item_id",
    "event_type",
    "timestamp",
    "event_value",
    "impression",
    "recommendation_id",
    "session_id",
    "event_id",
    "metric_attribution_source",
    "properties",
)
#: ``mapping={"context": CONTEXT_ALL}``: every column not mapped to a field is contextual metadata.
CONTEXT_ALL = "*"

# Column names recognised for each field, compared lower-case without "_", "-" or spaces, so
# "user_id", "userId" and "USER_ID" all match. "sent_at" is another name for "timestamp".
_ALIASES: dict[str, tuple[str, ...]] = {
    "user_id": ("userid",),
    "item_id": ("itemid",),
    "event_type": ("eventtype",),
    "timestamp": ("timestamp", "sentat"),
    "event_value": ("eventvalue",),
    "impression": ("impression",),
    "recommendation_id": ("recommendationid",),
    "session_id": ("sessionid",),
    "event_id": ("eventid",),
    "metric_attribution_source": ("metricattributionsource", "eventattributionsource"),
    "properties": ("properties",),
}
_BY_ALIAS = {alias: field for field, aliases in _ALIASES.items() for alias in aliases}
_MAPPING_KEYS = frozenset({*FIELDS, "sent_at", "context"})


def normal_name(name: str) -> str:
    """A column name as compared with the names of the fields: lower-case, without ``_``, ``-``
    or spaces (``"USER_ID"`` -> ``"userid"``)."""
    return re.sub(r"[\s_\-]", "", name).lower()


@attrs.frozen(slots=True)
class RowFields:
    """The event fields read from one record (``None``: absent).

    Attributes:
        user_id: ``userId``.
        session_id: ``sessionId`` when the record has one; else the replay cuts sessions.
        item_id: ``itemId``.
        event_type: ``eventType`` (the record's, else the default event type).
        sent_at: ``sentAt`` in epoch seconds (float), or ``None`` for "now".
        event_value: ``eventValue``.
        impression: ``impression`` item ids.
        recommendation_id: ``recommendationId``.
        event_id: ``eventId`` (kept, so a replayed event is not counted twice in training).
        properties: contextual metadata, keyed by column or property name.
        metric_attribution_source: ``metricAttribution.eventAttributionSource``.
    """

    user_id: str | int | None
    session_id: str | int | None
    item_id: str | int | None
    event_type: str | None
    sent_at: float | None
    event_value: float | None
    impression: tuple[str | int, ...] | None
    recommendation_id: str | None
    event_id: str | None
    properties: dict[str, Any] | None
    metric_attribution_source: str | None


@attrs.frozen(slots=True)
class _Plan:
    columns: dict[str, str]  # field -> column
    context: tuple[tuple[str, str], ...]  # (property name, column)


class FieldMapping:
    """Which column holds which event field, and how a record becomes :class:`RowFields`.

    Args:
        mapping: field name -> column name, for the fields in :data:`FIELDS` (``"sent_at"`` is
            accepted for ``"timestamp"``); ``None`` as a column leaves the field out. Fields not
            in the mapping are found by column name, ignoring case, ``_``, ``-`` and spaces
            (``user_id``, ``userId``, ``USER_ID``; ``timestamp`` or ``sentAt``). The key
            ``"context"`` names the contextual-metadata columns: a list of columns (each sent
            under its own name, camelCased: ``DEVICE_TYPE`` -> ``deviceType``), a dict
            ``{property name: column}``, or ``"*"`` for every column not used for a field.
            Default of ``"context"``: ``"*"`` when ``mapping`` is ``None``, no columns otherwise.
            A ``properties`` column may hold a mapping or a JSON object string; context columns
            are merged into it.
        event_type: the event type of records that have none (no column, or an empty value).

    Raises:
        ValueError: an unknown key in ``mapping``, or a value of the wrong type.
    """

    def __init__(
        self, mapping: Mapping[str, Any] | None = None, *, event_type: str | None = None
    ) -> None:
        given = dict(mapping or {})
        unknown = sorted(set(given) - _MAPPING_KEYS)
        if unknown:
            raise ValueError(
                f"unknown mapping key(s) {', '.join(map(repr, unknown))}; expected "
                f"{', '.join(FIELDS)} or 'context'"
            )
        if "sent_at" in given:
            if "timestamp" in given:
                raise ValueError("mapping has both 'timestamp' and 'sent_at'; give one")
            given["timestamp"] = given.pop("sent_at")
        context = given.pop("context", CONTEXT_ALL if mapping is None else ())
        for field, column in given.items():
            if column is not None and not isinstance(column, str):
                raise ValueError(
                    f"mapping[{field!r}] must be a column name (str) or None, got {column!r}"
                )
        if isinstance(context, str):
            if context != CONTEXT_ALL:
                raise ValueError(
                    f"mapping['context'] must be '*', a list of columns or a dict, got {context!r}"
                )
        elif isinstance(context, Mapping):
            context = tuple((str(name), str(column)) for name, column in context.items())
        elif isinstance(context, Iterable):
            context = tuple((str(column), str(column)) for column in context)
        else:
            raise ValueError(f"mapping['context'] must be '*', a list or a dict, got {context!r}")
        self._given: dict[str, str | None] = given
        self._context: str | tuple[tuple[str, str], ...] = context
        self.event_type = event_type
        self._plans: dict[tuple[str, ...], _Plan] = {}

    def plan(self, columns: Sequence[str]) -> dict[str, str]:
        """Return field -> column for records with these columns (for messages and checks)."""
        return dict(self._plan(tuple(columns)).columns)

    def context_columns(self, columns: Sequence[str]) -> list[str]:
        """Return the columns read as contextual metadata for records with these columns."""
        return [column for _, column in self._plan(tuple(columns)).context]

    def missing_columns(self, columns: Sequence[str]) -> list[str]:
        """Return the columns named in the mapping (fields and context) not among ``columns``."""
        present = set(columns)
        named = [c for c in self._given.values() if c is not None]
        if not isinstance(self._context, str):
            named.extend(column for _, column in self._context)
        return [column for column in dict.fromkeys(named) if column not in present]

    def _plan(self, key: tuple[str, ...]) -> _Plan:
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        found: dict[str, str] = {}
        for column in key:
            field = _BY_ALIAS.get(normal_name(column))
            if field is not None and field not in self._given and field not in found:
                found[field] = column
        for field, given in self._given.items():
            if given is not None:
                found[field] = given
        if isinstance(self._context, str):
            used = set(found.values())
            context = tuple((c, c) for c in key if c not in used)
        else:
            context = self._context
        plan = _Plan(found, context)
        if len(self._plans) < 64:  # records of a file share a few key sets at most
            self._plans[key] = plan
        return plan

    def extract(self, record: Mapping[str, Any]) -> RowFields:
        """Read the event fields of one record.

        Args:
            record: column -> value. Missing values (``None``, NaN, pandas NA/NaT, blank
                strings) count as absent. numpy scalars are read as Python values.

        Returns:
            The :class:`RowFields`; their PutEvents rules are checked later, by ``track()``.

        Raises:
            RowError: a value cannot be read: a timestamp that is not epoch seconds or an
                aware datetime, an event value that is not a number, an id of the wrong type,
                a ``properties`` value that is not a JSON object.
        """
        plan = self._plan(tuple(record))
        columns = plan.columns

        def get(field: str) -> Any:
            column = columns.get(field)
            if column is None:
                return None
            value = plain(record.get(column))
            return None if is_missing(value) else value

        event_type = get("event_type")
        if event_type is None:
            event_type = self.event_type
        elif not isinstance(event_type, str):
            event_type = str(event_type)
        properties = as_properties(get("properties"), columns.get("properties"))
        for name, column in plan.context:
            value = plain(record.get(column))
            if not is_missing(value):
                if properties is None:
                    properties = {}
                properties[name] = value.strip() if isinstance(value, str) else value
        return RowFields(
            user_id=as_identifier(get("user_id"), "user_id", columns),
            session_id=as_identifier(get("session_id"), "session_id", columns),
            item_id=as_identifier(get("item_id"), "item_id", columns),
            event_type=event_type,
            sent_at=as_epoch_seconds(get("timestamp"), columns.get("timestamp")),
            event_value=as_event_value(get("event_value"), columns.get("event_value")),
            impression=as_impression(get("impression"), columns.get("impression")),
            recommendation_id=as_text(get("recommendation_id")),
            event_id=as_text(get("event_id")),
            properties=properties,
            metric_attribution_source=as_text(get("metric_attribution_source")),
        )
